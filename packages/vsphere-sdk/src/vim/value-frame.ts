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

/**
 * One element being decoded. Frames are reused: `of` and `child` take a
 * spare frame (one per depth, its element closed) and set it up again, so an
 * answer of 180,000 elements does not allocate 180,000 frames.
 */
export class ValueFrame {
  text = "";
  /** The decoded object or list of a data object, list or generic element. */
  private out: Record<string, unknown> | unknown[] | undefined;
  /** A generic element's children by local name, in order of first occurrence. */
  private children: Map<string, unknown[]> | undefined;
  /** Where this frame's value goes in its parent: a known type's field. */
  field: FieldInfo | undefined;

  private constructor(
    private kind: Kind,
    /** The actual type; the element type of a list. */
    private type: string | undefined,
    /** The element's unqualified `type` attribute (a managed object reference's). */
    private typeAttr: string | undefined,
    private table: FieldTable | undefined,
  ) {
    this.start();
  }

  /** Sets the decoded value up for a new element (of `kind`, `table` already set). */
  private start(): void {
    this.text = "";
    this.children = undefined;
    this.field = undefined;
    const kind = this.kind;
    if (kind === Kind.List) this.out = [];
    else if (kind === Kind.Known) {
      const table = this.table!;
      const out: Record<string, unknown> = { _type: table.type };
      const lists = table.lists;
      for (let i = 0; i < lists.length; i++) out[lists[i]!] = [];
      this.out = out;
    } else this.out = undefined;
  }

  /** `spare` set up as a frame of these parts, or a new frame when there is no spare. */
  private static made(
    spare: ValueFrame | undefined,
    kind: Kind,
    type: string | undefined,
    typeAttr: string | undefined,
    table: FieldTable | undefined,
  ): ValueFrame {
    if (spare === undefined || spare.kind === Kind.Skip) {
      return new ValueFrame(kind, type, typeAttr, table);
    }
    spare.kind = kind;
    spare.type = type;
    spare.typeAttr = typeAttr;
    spare.table = table;
    spare.start();
    return spare;
  }

  /**
   * The frame of an element declared as `declared`, with its xsi:type (local
   * part) and `type` attribute when it has them; `spare`, a frame no longer
   * in use, is reused when given.
   */
  static of(
    declared: string,
    xsiType: string | undefined,
    typeAttr: string | undefined,
    spare?: ValueFrame,
  ): ValueFrame {
    const actual = xsiType ?? declared;
    if (actual === "ManagedObjectReference") {
      return ValueFrame.made(spare, Kind.Reference, actual, typeAttr, undefined);
    }
    if (actual !== "anyType" && primitiveTypes.has(actual)) {
      return ValueFrame.made(spare, Kind.Primitive, actual, undefined, undefined);
    }
    if (actual.startsWith("ArrayOf")) {
      const element = arrayElementTypes[actual] ?? actual.slice("ArrayOf".length);
      return ValueFrame.made(spare, Kind.List, element, undefined, undefined);
    }
    const table = fieldTable(actual);
    if (table) return ValueFrame.made(spare, Kind.Known, actual, undefined, table);
    return ValueFrame.made(spare, Kind.Generic, actual, typeAttr, undefined);
  }

  /** The frame of an element whose type nothing declares: generic unless it has an xsi:type. */
  private static untyped(
    xsiType: string | undefined,
    typeAttr: string | undefined,
    spare: ValueFrame | undefined,
  ) {
    return xsiType === undefined
      ? ValueFrame.made(spare, Kind.Generic, undefined, typeAttr, undefined)
      : ValueFrame.of(xsiType, xsiType, typeAttr, spare);
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

  /**
   * The frame of a child element named `name` (local part); `spare`, a frame
   * no longer in use, is reused when given.
   */
  child(
    name: string,
    xsiType: string | undefined,
    typeAttr: string | undefined,
    spare?: ValueFrame,
  ): ValueFrame {
    switch (this.kind) {
      case Kind.Known: {
        const field = this.table!.byName.get(name);
        if (field === undefined) return ValueFrame.skip;
        const frame = ValueFrame.of(field[1], xsiType, typeAttr, spare);
        frame.field = field;
        return frame;
      }
      case Kind.List:
        return ValueFrame.of(this.type!, xsiType, typeAttr, spare);
      case Kind.Generic:
        return ValueFrame.untyped(xsiType, typeAttr, spare);
      default:
        // The text of a primitive or a reference is its own; elements inside are ignored.
        return ValueFrame.skip;
    }
  }

  /** Takes a child's decoded value. */
  add(name: string, child: ValueFrame, value: unknown): void {
    switch (this.kind) {
      case Kind.Known: {
        // Indexing, not destructuring: an array pattern runs the iterator
        // protocol (objects per element) until the JIT optimises it away.
        const field = child.field!;
        const fieldName = field[0];
        const out = this.out as Record<string, unknown>;
        if (field[2]) (out[fieldName] as unknown[]).push(value);
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
