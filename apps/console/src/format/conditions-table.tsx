import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Condition, ConditionStatusSchema } from "@virtrigaud/proto/manager";
import { enumWord } from "./enum-word";

/** A resource's conditions: type, status, reason, message, and since when they hold. */
export function ConditionsTable({
  label,
  conditions,
}: {
  label: string;
  conditions: readonly Condition[];
}) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>Type</th>
          <th>Status</th>
          <th>Reason</th>
          <th>Message</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {conditions.map((c) => (
          <tr key={c.type}>
            <td>{c.type}</td>
            <td>{enumWord(ConditionStatusSchema, c.status)}</td>
            <td>{c.reason}</td>
            <td>{c.message}</td>
            <td>
              {c.lastTransitionTime ? timestampDate(c.lastTransitionTime).toLocaleString() : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
