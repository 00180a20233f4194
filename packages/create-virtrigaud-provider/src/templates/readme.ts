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
node dist/main.js --tls-cert tls.crt --tls-key tls.key --tls-client-ca managers-ca.crt
                                     # mutual TLS, for everything else: only managers' certificates
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

## Against a secured manager

A manager in production calls its providers over mutual TLS and answers its own users only with
credentials. To try the provider with one on this machine (\`virtrigaud-manager\` and \`vrtg\` from
the VirtRigaud repository, built):

\`\`\`sh
# A CA, the provider's server certificate and the manager's client certificate
# (in the VirtRigaud repository: tools/stack/make-tls.sh DIR makes exactly these).
tools/stack/make-tls.sh /tmp/pki
node dist/main.js --listen 127.0.0.1:9443 --tls-cert /tmp/pki/provider/tls.crt \\
  --tls-key /tmp/pki/provider/tls.key --tls-client-ca /tmp/pki/provider/client-ca.crt

# The manager: a token for you (only its hash in the token file), you its administrator,
# and the directory its Provider TLS files may be in.
head -c 32 /dev/urandom | base64 > me.token
virtrigaud-manager hash-token me < me.token > tokens
virtrigaud-manager --data /tmp/manager --listen 127.0.0.1:9090 --insecure \\
  --token-file tokens --bootstrap-admin user:me --provider-tls-dir /tmp/pki/manager

# Register the provider (spec.endpoint https://127.0.0.1:9443, spec.tls caFile, certFile and
# keyFile naming the files in /tmp/pki/manager) and use it as yourself:
vrtg --token-file me.token apply -f provider.yaml
vrtg --token-file me.token provider check my-provider
\`\`\`

The provider refuses any client whose certificate its \`--tls-client-ca\` did not sign (vrtg's
included), and the manager refuses calls without a token it knows. Plaintext (\`--insecure\`) is
for 127.0.0.1 only, on both.

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
