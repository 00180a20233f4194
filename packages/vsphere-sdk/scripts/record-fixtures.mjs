#!/usr/bin/env node
// Records the SOAP answers of the unit tests' fixtures from a running vcsim
// (tools/testbed/up.sh vcsim; source .testbed/vcsim.env first) into
// test/fixtures/. Each file is the server's answer, byte for byte.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, fetch } from "undici";

const out = join(dirname(fileURLToPath(import.meta.url)), "../test/fixtures");
const url = process.env.VIRTRIGAUD_VCSIM_URL;
const username = process.env.VIRTRIGAUD_VCSIM_USERNAME;
const password = process.env.VIRTRIGAUD_VCSIM_PASSWORD;
if (!url || !username || !password) throw new Error("source .testbed/vcsim.env first");
const dispatcher = new Agent({
  connect: { ca: readFileSync(process.env.VIRTRIGAUD_VCSIM_CA_FILE) },
});
const esc = (s) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c],
  );
const envelope = (body) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
let cookie = "";
async function call(body, file) {
  const res = await fetch(url, {
    method: "POST",
    body: envelope(body),
    headers: {
      "content-type": "text/xml",
      soapaction: "urn:vim25/6.5",
      ...(cookie ? { cookie } : {}),
    },
    dispatcher,
  });
  const text = await res.text();
  const set = res.headers.getSetCookie().find((c) => c.startsWith("vmware_soap_session="));
  if (set) cookie = set.split(";")[0];
  if (file) writeFileSync(join(out, file), text);
  return text;
}
const vim = (method, inner) => `<${method} xmlns="urn:vim25">${inner}</${method}>`;
const sm = '<_this type="SessionManager">SessionManager</_this>';
const pc = '<_this type="PropertyCollector">propertyCollector</_this>';

await call(
  vim("RetrieveServiceContent", '<_this type="ServiceInstance">ServiceInstance</_this>'),
  "retrieve-service-content.xml",
);
await call(
  vim("Login", `${sm}<userName>${esc(username)}</userName><password>wrong</password>`),
  "fault-invalid-login.xml",
);
await call(
  vim(
    "RetrievePropertiesEx",
    `${pc}<specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet></specSet><options></options>`,
  ),
  "fault-not-authenticated.xml",
);
await call(
  vim("Login", `${sm}<userName>${esc(username)}</userName><password>${esc(password)}</password>`),
  "login.xml",
);
await call(
  vim(
    "RetrievePropertiesEx",
    `${pc}<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-does-not-exist</obj></objectSet></specSet><options></options>`,
  ),
  "fault-managed-object-not-found.xml",
);
const session = /<key>([^<]+)<\/key>/.exec(readFileSync(join(out, "login.xml"), "utf8"))[1];
await call(
  vim("TerminateSession", `${sm}<sessionId>${session}</sessionId>`),
  "fault-invalid-argument.xml",
);
const vmText = await call(
  vim(
    "FindByInventoryPath",
    '<_this type="SearchIndex">SearchIndex</_this><inventoryPath>DC0/vm/vrtg-template</inventoryPath>',
  ),
);
const template = /<returnval type="VirtualMachine">([^<]+)</.exec(vmText)[1];
await call(
  vim(
    "RetrievePropertiesEx",
    `${pc}<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>config.hardware.device</pathSet><pathSet>config.extraConfig</pathSet><pathSet>snapshot</pathSet><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">${template}</obj></objectSet></specSet><options></options>`,
  ),
  "retrieve-template.xml",
);
// A task that fails: powering on a template.
const taskText = await call(
  vim("PowerOnVM_Task", `<_this type="VirtualMachine">${template}</_this>`),
);
const task = /<returnval type="Task">([^<]+)</.exec(taskText);
if (task) {
  await call(
    vim(
      "RetrievePropertiesEx",
      `${pc}<specSet><propSet><type>Task</type><pathSet>info</pathSet></propSet><objectSet><obj type="Task">${task[1]}</obj></objectSet></specSet><options></options>`,
    ),
    "task-info-error.xml",
  );
} else {
  writeFileSync(join(out, "fault-power-on-template.xml"), taskText);
}
await call(vim("Logout", sm));
console.log("recorded into", out);
