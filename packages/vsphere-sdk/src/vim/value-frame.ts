import { type FieldInfo, allFields, isKnownType, primitiveTypes } from "./type-info.js";

/**
 * Decoding one element into plain values as its parts arrive (a SAX-style
 * reader's open, text and close events), without a tree of the document:
 * primitives as strings, numbers and booleans; managed object references as
 * `{type, value}`; data objects as objects with `_type` set to their actual
 * type (the element's xsi:type, or the declared one). Fields of types the
 * SDK's subset knows are read by the schema (lists always as arrays, a
 * repeated single field as its first occurrence, unknown elements skipped);
 * other types are read generically.
 */

const enum Kind {
  Primitive,
  Reference,
  List,
  Known,
  Generic,
  Skip,
}

/** Element types of the ArrayOfX wrappers whose X is a primitive. */
const arrayElementTypes: Record<string, string> = {
  ArrayOfString: "string",
  ArrayOfInt: "int",
  ArrayOfLong: "long",
  ArrayOfShort: "short",
  ArrayOfByte: "byte",
  ArrayOfBoolean: "boolean",
  ArrayOfFloat: "float",
  ArrayOfDouble: "double",
  ArrayOfDateTime: "dateTime",
  ArrayOfAnyType: "anyType",
  ArrayOfManagedObjectReference: "ManagedObjectReference",
};

/** A known data type's fields by element name, and which of them are lists. */
interface FieldTable {
  /** The type's name, from the type tables (not cut out of an answer). */
  type: string;
  byName: Map<string, FieldInfo>;
  lists: string[];
}

// Known types only: an answer's unknown type names must not grow it.
const fieldTables = new Map<string, FieldTable>();

function fieldTable(type: string): FieldTable | undefined {
  const cached = fieldTables.get(type);
  if (cached !== undefined) return cached;
  if (!isKnownType(type)) return undefined;
  const name = detached(type);
  const fields = allFields(name) ?? [];
  const table = {
    type: name,
    byName: new Map(fields.map((f) => [f[0], f])),
    lists: fields.filter((f) => f[2]).map((f) => f[0]),
  };
  fieldTables.set(name, table);
  return table;
}

/**
 * `text` as a string of its own. The XML parser cuts names, attribute values
 * and text out of the chunk of the answer it was reading, and V8 keeps a long
 * enough cut-out string's whole chunk alive: a decoded answer would hold on
 * to most of the answer's text. Short strings are copies already.
 */
function detached(text: string): string {
  return text.length < 13 ? text : (" " + text).slice(1);
}

function decodePrimitive(text: string, type: string): unknown {
  switch (type) {
    case "boolean":
      return text === "true" || text === "1";
    case "int":
    case "long":
    case "short":
    case "byte":
    case "float":
    case "double":
      return Number(text);
    default:
      return detached(text);
  }
}

/** One element being decoded. */
export class ValueFrame {
  text = "";
  /** The decoded object or list of a data object, list or generic element. */
  private out: Record<string, unknown> | unknown[] | undefined;
  /** A generic element's children by local name, in order of first occurrence. */
  private children: Map<string, unknown[]> | undefined;
  /** Where this frame's value goes in its parent: a known type's field. */
  field: FieldInfo | undefined;

  private constructor(
    private readonly kind: Kind,
    /** The actual type; the element type of a list. */
    private readonly type: string | undefined,
    /** The element's unqualified `type` attribute (a managed object reference's). */
    private readonly typeAttr: string | undefined,
    private readonly table: FieldTable | undefined,
  ) {
    if (kind === Kind.List) this.out = [];
    else if (kind === Kind.Known) {
      const out: Record<string, unknown> = { _type: table!.type };
      for (const name of table!.lists) out[name] = [];
      this.out = out;
    }
  }

  /**
   * The frame of an element declared as `declared`, with its xsi:type (local
   * part) and `type` attribute when it has them.
   */
  static of(declared: string, xsiType: string | undefined, typeAttr: string | undefined) {
    const actual = xsiType ?? declared;
    if (actual === "ManagedObjectReference") {
      return new ValueFrame(Kind.Reference, actual, typeAttr, undefined);
    }
    if (actual !== "anyType" && primitiveTypes.has(actual)) {
      return new ValueFrame(Kind.Primitive, actual, undefined, undefined);
    }
    if (actual.startsWith("ArrayOf")) {
      const element = arrayElementTypes[actual] ?? actual.slice("ArrayOf".length);
      return new ValueFrame(Kind.List, element, undefined, undefined);
    }
    const table = fieldTable(actual);
    if (table) return new ValueFrame(Kind.Known, actual, undefined, table);
    return new ValueFrame(Kind.Generic, actual, typeAttr, undefined);
  }

  /** The frame of an element whose type nothing declares: generic unless it has an xsi:type. */
  private static untyped(xsiType: string | undefined, typeAttr: string | undefined) {
    return xsiType === undefined
      ? new ValueFrame(Kind.Generic, undefined, typeAttr, undefined)
      : ValueFrame.of(xsiType, xsiType, typeAttr);
  }

  /** A frame that ignores its element and everything in it. */
  static readonly skip = new ValueFrame(Kind.Skip, undefined, undefined, undefined);

  /** True for the frame that ignores its element. */
  get skipped(): boolean {
    return this.kind === Kind.Skip;
  }

  /** True when the element's text is part of its value. */
  get keepsText(): boolean {
    return (
      this.kind === Kind.Primitive || this.kind === Kind.Reference || this.kind === Kind.Generic
    );
  }

  /** The frame of a child element named `name` (local part). */
  child(name: string, xsiType: string | undefined, typeAttr: string | undefined): ValueFrame {
    switch (this.kind) {
      case Kind.Known: {
        const field = this.table!.byName.get(name);
        if (field === undefined) return ValueFrame.skip;
        const frame = ValueFrame.of(field[1], xsiType, typeAttr);
        frame.field = field;
        return frame;
      }
      case Kind.List:
        return ValueFrame.of(this.type!, xsiType, typeAttr);
      case Kind.Generic:
        return ValueFrame.untyped(xsiType, typeAttr);
      default:
        // The text of a primitive or a reference is its own; elements inside are ignored.
        return ValueFrame.skip;
    }
  }

  /** Takes a child's decoded value. */
  add(name: string, child: ValueFrame, value: unknown): void {
    switch (this.kind) {
      case Kind.Known: {
        const [fieldName, , list] = child.field!;
        const out = this.out as Record<string, unknown>;
        if (list) (out[fieldName] as unknown[]).push(value);
        else if (!(fieldName in out)) out[fieldName] = value;
        return;
      }
      case Kind.List:
        (this.out as unknown[]).push(value);
        return;
      case Kind.Generic: {
        this.children ??= new Map();
        const values = this.children.get(name);
        if (values) values.push(value);
        else this.children.set(name, [value]);
        return;
      }
      default:
        return;
    }
  }

  /** The element's value, once it is closed. */
  value(): unknown {
    switch (this.kind) {
      case Kind.Primitive:
        return decodePrimitive(this.text, this.type!);
      case Kind.Reference:
        return { type: detached(this.typeAttr ?? ""), value: detached(this.text) };
      case Kind.List:
      case Kind.Known:
        return this.out;
      case Kind.Generic: {
        if (this.children === undefined) {
          return this.typeAttr === undefined
            ? detached(this.text)
            : { type: detached(this.typeAttr), value: detached(this.text) };
        }
        const out: Record<string, unknown> =
          this.type === undefined ? {} : { _type: detached(this.type) };
        for (const [name, values] of this.children) {
          const value = values.length === 1 ? values[0] : values;
          // An element named __proto__ is a field, not the object's prototype.
          if (name === "__proto__") {
            Object.defineProperty(out, name, {
              value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else out[name] = value;
        }
        return out;
      }
      default:
        return undefined;
    }
  }
}
