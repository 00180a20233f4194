import {
  type DescField,
  type DescMessage,
  type DescOneof,
  type MessageShape,
  ScalarType,
  getOption,
  hasOption,
  isFieldSet,
} from "@bufbuild/protobuf";
import {
  type FieldRules,
  field as fieldRules,
  oneof as oneofRules,
} from "@virtrigaud/proto/validate";
import { ProviderError } from "../errors/provider-error.js";
import { quote } from "../clip.js";
import { codePointLength, formatChecks } from "./formats.js";
import { type Violation, messageRules } from "./message-rules.js";

interface FieldPlan {
  field: DescField;
  rules: FieldRules | undefined;
  /** The plan of the field's message type, for message, list and map fields of messages. */
  nested: MessagePlan | undefined;
}

interface MessagePlan {
  requiredOneofs: DescOneof[];
  fields: FieldPlan[];
  rule: ((message: never) => Violation | undefined) | undefined;
}

const plans = new WeakMap<DescMessage, MessagePlan | null>();

/** The checks for a message type, or null when nothing in it is constrained. Cached. */
function planFor(schema: DescMessage): MessagePlan | null {
  const cached = plans.get(schema);
  if (cached !== undefined) return cached;
  plans.set(schema, null); // guards recursive types while planning
  const fields: FieldPlan[] = [];
  for (const field of schema.fields) {
    const rules = hasOption(field, fieldRules) ? getOption(field, fieldRules) : undefined;
    const type =
      field.fieldKind === "message"
        ? field.message
        : field.fieldKind === "list" && field.listKind === "message"
          ? field.message
          : field.fieldKind === "map" && field.mapKind === "message"
            ? field.message
            : undefined;
    const nested = (type && planFor(type)) || undefined;
    if (rules || nested) fields.push({ field, rules, nested });
  }
  const requiredOneofs = schema.oneofs.filter(
    (o) => hasOption(o, oneofRules) && getOption(o, oneofRules).required,
  );
  const rule = messageRules.get(schema.typeName);
  const plan =
    fields.length || requiredOneofs.length || rule ? { fields, requiredOneofs, rule } : null;
  plans.set(schema, plan);
  return plan;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function valueOf(message: Record<string, unknown>, field: DescField): unknown {
  if (field.oneof) return (message[field.oneof.localName] as { value?: unknown }).value;
  return message[field.localName];
}

function requiredMessage(field: DescField): string {
  switch (field.fieldKind) {
    case "message":
      return "is required";
    case "list":
    case "map":
      return "must not be empty";
    case "enum":
      return "must be set";
    case "scalar":
      return field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES
        ? "must not be empty"
        : "must be greater than 0";
  }
}

function checkString(rules: FieldRules, value: string): string | undefined {
  if (rules.maxLen && value.length > rules.maxLen && codePointLength(value) > rules.maxLen) {
    return `must be at most ${rules.maxLen} characters`;
  }
  if (rules.minLen && codePointLength(value) < rules.minLen) {
    return `must be at least ${rules.minLen} characters`;
  }
  const format = formatChecks[rules.format];
  if (format && !format.test(value)) return `${format.expectation}, got ${quote(value)}`;
  return undefined;
}

function checkNumber(rules: FieldRules, value: number): string | undefined {
  if (rules.min && value < rules.min) return `must be at least ${rules.min}, got ${value}`;
  if (rules.max && value > rules.max) return `must be at most ${rules.max}, got ${value}`;
  return undefined;
}

function checkEnum(rules: FieldRules, field: DescField, value: number): string | undefined {
  const type = field.enum;
  if (rules.definedOnly && type && !type.values.some((v) => v.number === value)) {
    const names = type.values.filter((v) => v.number !== 0).map((v) => v.name);
    return `must be one of ${names.join(", ")}, got ${value}`;
  }
  return undefined;
}

function checkValue(
  rules: FieldRules | undefined,
  field: DescField,
  value: unknown,
): string | undefined {
  if (!rules) return undefined;
  if (typeof value === "string") return checkString(rules, value);
  if (typeof value === "number") {
    return field.enum ? checkEnum(rules, field, value) : checkNumber(rules, value);
  }
  return undefined;
}

function check(
  plan: MessagePlan,
  message: Record<string, unknown>,
  path: string,
): Violation | undefined {
  for (const oneof of plan.requiredOneofs) {
    if ((message[oneof.localName] as { case?: string }).case === undefined) {
      const members = oneof.fields.map((f) => f.name).join(", ");
      return { field: join(path, oneof.name), message: `one of ${members} must be set` };
    }
  }
  for (const { field, rules, nested } of plan.fields) {
    const fieldPath = join(path, field.name);
    const set = isFieldSet(message as MessageShape<DescMessage>, field);
    if (!set) {
      if (rules?.required) return { field: fieldPath, message: requiredMessage(field) };
      continue;
    }
    const value = valueOf(message, field);
    if (field.fieldKind === "list" || field.fieldKind === "map") {
      const items: Array<[string, unknown]> =
        field.fieldKind === "list"
          ? (value as unknown[]).map((v, i) => [`${fieldPath}[${i}]`, v])
          : Object.entries(value as Record<string, unknown>).map(([k, v]) => [
              `${fieldPath}[${quote(k)}]`,
              v,
            ]);
      if (rules?.maxItems && items.length > rules.maxItems) {
        return {
          field: fieldPath,
          message: `must have at most ${rules.maxItems} items, got ${items.length}`,
        };
      }
      for (const [itemPath, item] of items) {
        const problem = nested
          ? check(nested, item as Record<string, unknown>, itemPath)
          : (() => {
              const message = checkValue(rules, field, item);
              return message ? { field: itemPath, message } : undefined;
            })();
        if (problem) return problem;
      }
      continue;
    }
    if (nested) {
      const problem = check(nested, value as Record<string, unknown>, fieldPath);
      if (problem) return problem;
      continue;
    }
    const problem = checkValue(rules, field, value);
    if (problem) return { field: fieldPath, message: problem };
  }
  if (plan.rule) {
    const problem = plan.rule(message as never);
    if (problem) return { field: join(path, problem.field), message: problem.message };
  }
  return undefined;
}

/**
 * Finds the first rule the message breaks: the rules declared on its fields
 * in the proto (virtrigaud.validate.v1), then the cross-field rules of its type.
 * Field paths use proto field names, for example "networks[1].mac_address".
 */
export function findViolation<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Violation | undefined {
  const plan = planFor(schema);
  return plan ? check(plan, message, "") : undefined;
}

/**
 * Checks a message against the contract's rules.
 *
 * @throws ProviderError INVALID_SPEC naming the offending field.
 */
export function validateMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): void {
  const violation = findViolation(schema, message);
  if (violation) throw ProviderError.invalidSpec(violation.field, violation.message);
}
