/** The generated project's README. */
export function readme(packageName: string, providerType: string): string {
  return `# ${packageName}

A [VirtRigaud](https://github.com/virtrigaud) provider for ${providerType}, built on the provider SDK
(\`@virtrigaud/contracts\`). It serves the ProviderService contract (Connect, gRPC and gRPC-Web on
one port, TLS by default, health on /healthz and /readyz, Prometheus /metrics) and passes the
conformance suite \`vcts\` as generated.

## Install

\`\`\`sh
npm install    # once: resolves the dependencies and writes package-lock.json; commit it
npm ci         # every install after that (CI, the Dockerfile): exactly what the lockfile locks
\`\`\`

\`npm ci\` never rewrites the lockfile and installs the same packages whatever the registry lists
on the day. Commit the lockfile \`npm install\` writes with npm 11 against the public registry: it
locks every platform's optional packages (the compilers' native builds), so it installs anywhere.

## Run it

\`\`\`sh
npm run build
node dist/main.js --listen 127.0.0.1:9443 --insecure      # plaintext, for development
node dist/main.js --tls-cert tls.crt --tls-key tls.key     # TLS, for everything else
node dist/main.js --help                                   # every flag
\`\`\`

## Test it

\`\`\`sh
npm test
\`\`\`

\`test/conformance.test.ts\` starts the built provider as a process and runs every profile of
\`vcts\` against it: what the provider declares in GetCapabilities must work, and the rest must
answer UNSUPPORTED. The same check from the command line, against any running instance:

\`\`\`sh
npx vcts run --endpoint http://127.0.0.1:9443 --insecure --junit vcts.xml
\`\`\`

## Make it yours

- \`src/backend.ts\` is the system the provider drives. The in-memory backend is a stand-in:
  implement the \`Backend\` interface against your hypervisor's API.
- \`src/provider.ts\` maps the contract onto the backend. Keep its promises: Create idempotent by
  name, Delete of a missing VM succeeds, typed errors (\`ProviderError.notFound\`,
  \`ProviderError.invalidSpec(field, ...)\`, ...), the call's \`signal\` passed on to every I/O.
- Declare in \`getCapabilities\` only what your backend does. Snapshots, clones, image preparation
  and suspend each need their methods and a declaration; see the SDK's guide "Writing a provider".
  Long operations return tasks from \`createTaskTracker\`.
- \`src/main.ts\` is the binary: add your own flags and read credentials with \`loadCredentials\`.

## Container

\`\`\`sh
docker build -t ${packageName} .
docker run -v $PWD/tls:/etc/${packageName}/tls:ro -p 9443:9443 ${packageName}
\`\`\`
`;
}
