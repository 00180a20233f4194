import { useMutation } from "@connectrpc/connect-query";
import { fromResource, kindInfo } from "@virtrigaud/manifest";
import { ApplyOutcomeSchema, Kind, ManagerService } from "@virtrigaud/proto/manager";
import { useCallback, useMemo, useState } from "react";
import { useAllowed } from "../access/use-allowed";
import { enumWord } from "../format/enum-word";
import { PageLink } from "../routing/page-link";
import type { Route } from "../routing/route";
import { ManifestEditor } from "./manifest-editor";
import { type Problem, problemOf, readManifests } from "./manifest-problems";
import { sampleManifest } from "./sample-manifest";

/** One resource Apply stored. */
interface Applied {
  kind: string;
  namespace: string;
  name: string;
  outcome: string;
  /** Its page, for a VM. */
  route?: Route;
}

/** The kind and namespace the text's first document names, for asking whether the caller may apply it. */
function firstTarget(text: string): { kind: Kind; namespace: string } {
  const read = readManifests(text);
  const first = read.ok ? fromResource(read.documents[0]?.resource) : undefined;
  return {
    kind: first?.info.kind ?? Kind.VIRTUAL_MACHINE,
    namespace: first?.message.metadata?.namespace || "default",
  };
}

/**
 * Manifests in a YAML editor, applied through the manager's Apply one document
 * after another, as `vrtg apply -f` does. Problems are marked at their field:
 * YAML syntax and the manifest format's as people type, the manager's when it
 * refuses a document.
 */
export default function ApplyPage({ go }: { go: (route: Route) => void }) {
  const [text, setText] = useState(sampleManifest);
  // What the last Apply found wrong: in the editor's text before any call, or the manager's refusal.
  const [problems, setProblems] = useState<Problem[]>([]);
  const [refused, setRefused] = useState<Problem[]>([]);
  const [applied, setApplied] = useState<Applied[]>([]);
  const [busy, setBusy] = useState(false);
  const apply = useMutation(ManagerService.method.apply);
  const target = useMemo(() => firstTarget(text), [text]);
  const allowed = useAllowed("create", target.kind, target.namespace);

  const onChange = useCallback((next: string) => {
    setText(next);
    setProblems([]);
  }, []);
  const run = async () => {
    setApplied([]);
    setRefused([]);
    const read = readManifests(text);
    if (!read.ok) return setProblems(read.problems);
    setBusy(true);
    const done: Applied[] = [];
    try {
      for (const { doc, resource } of read.documents) {
        try {
          const answer = await apply.mutateAsync({ resource });
          const stored = fromResource(answer.resource ?? resource);
          const namespace = stored?.message.metadata?.namespace ?? "";
          const name = stored?.message.metadata?.name ?? "";
          done.push({
            kind: stored?.info.name ?? "",
            namespace,
            name,
            outcome: enumWord(ApplyOutcomeSchema, answer.outcome),
            ...(stored?.info.kind === Kind.VIRTUAL_MACHINE && {
              route: { page: "vm", namespace, name } as const,
            }),
          });
        } catch (err) {
          const problem = problemOf(text, doc, err);
          setProblems([problem]);
          setRefused([problem]);
          return;
        }
      }
      setProblems([]);
    } finally {
      setApplied(done);
      setBusy(false);
    }
  };

  return (
    <section className="apply">
      <h2>Apply manifests</h2>
      <p>
        Resources in the <code>infra.virtrigaud.io/v1beta1</code> format, one YAML document each,
        applied in order as <code>vrtg apply -f</code> applies them.
      </p>
      <ManifestEditor initial={sampleManifest} onChange={onChange} refused={refused} />
      {problems.length > 0 && (
        <ul className="problems" role="alert" aria-label="problems">
          {problems.map((p) => (
            <li key={`${p.from}:${p.message}`} className="error">
              Line {text.slice(0, p.from).split("\n").length}: {p.message}
            </li>
          ))}
        </ul>
      )}
      {allowed === false && (
        <p className="read-only">
          Read only: your role may not apply a {kindInfo(target.kind).name} in {target.namespace}.
        </p>
      )}
      {allowed && (
        <div className="actions">
          <button disabled={busy} onClick={() => void run()}>
            Apply
          </button>
        </div>
      )}
      {applied.length > 0 && (
        <ul aria-label="applied">
          {applied.map((a) => (
            <li
              key={`${a.kind}/${a.namespace}/${a.name}`}
              data-applied={`${a.namespace}/${a.name}`}
            >
              {a.kind}{" "}
              {a.route ? (
                <PageLink to={a.route} go={go}>
                  {a.namespace}/{a.name}
                </PageLink>
              ) : (
                `${a.namespace}/${a.name}`
              )}{" "}
              {a.outcome}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
