import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "@jest/globals";
import { fixture } from "../../test/fixtures.js";
import { readAnswer } from "../client/read-answer.js";
import { readResponse } from "./envelope.js";
import { VimProtocolError } from "./faults.js";
import { createResponseReader } from "./response-reader.js";

const soapenv = "http://schemas.xmlsoap.org/soap/envelope/";
const xsi = "http://www.w3.org/2001/XMLSchema-instance";

/** A RetrievePropertiesEx answer with one VM whose one property `name` has the value `val`. */
function retrieved(val: string, head = ""): string {
  return (
    `${head}<soapenv:Envelope xmlns:soapenv="${soapenv}" xmlns:xsi="${xsi}"><soapenv:Body>` +
    '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects>' +
    '<obj type="VirtualMachine">vm-1</obj>' +
    `<propSet><name>name</name>${val}</propSet>` +
    "</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"
  );
}

/** The decoded `val` of the one property of `retrieved`'s answer. */
function valueOf(answer: string): unknown {
  const result = readResponse("RetrievePropertiesEx", answer, 200) as {
    objects: Array<{ propSet: Array<{ val: unknown }> }>;
  };
  return result.objects[0]?.propSet[0]?.val;
}

/** The error `work` throws. */
function thrownBy(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error("nothing was thrown");
}

describe("the response reader", () => {
  it("decodes an answer fed in chunks of any size as it decodes the whole", () => {
    const text = fixture("retrieve-template");
    const whole = readResponse("RetrievePropertiesEx", text, 200);
    for (const size of [1, 7, 64, 1000]) {
      const reader = createResponseReader("RetrievePropertiesEx", 200);
      for (let i = 0; i < text.length; i += size) reader.write(text.slice(i, i + size));
      expect(reader.end()).toEqual(whole);
    }
  });

  it("refuses a DOCTYPE, so no entity is ever declared or expanded", () => {
    const laughs =
      '<!DOCTYPE v [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>';
    const external = '<!DOCTYPE v [<!ENTITY e SYSTEM "file:///etc/passwd">]>';
    for (const [head, val] of [
      [laughs, '<val xsi:type="xsd:string">&d;</val>'],
      [external, '<val xsi:type="xsd:string">&e;</val>'],
      ["<!DOCTYPE v>", '<val xsi:type="xsd:string">x</val>'],
    ] as const) {
      const err = thrownBy(() => valueOf(retrieved(val, head)));
      expect(err).toBeInstanceOf(VimProtocolError);
      expect((err as Error).message).toMatch(/DOCTYPE, which is refused/);
    }
  });

  it("refuses a reference to an entity XML does not predefine", () => {
    const err = thrownBy(() => valueOf(retrieved('<val xsi:type="xsd:string">&passwd;</val>')));
    expect(err).toBeInstanceOf(VimProtocolError);
    expect((err as Error).message).toMatch(/not well-formed XML: .*undefined entity/);
  });

  it("decodes the predefined entities and character references once", () => {
    expect(valueOf(retrieved('<val xsi:type="xsd:string">&lt;&amp;amp;&#x1F600;&#34;</val>'))).toBe(
      '<&amp;😀"',
    );
  });

  it("reads deeply nested elements without recursion, kept or skipped", () => {
    const depth = 100_000;
    const nested = "<a>".repeat(depth) + "x" + "</a>".repeat(depth);
    // An anyType without xsi:type is read generically: one object per level.
    let value = valueOf(retrieved(`<val>${nested}</val>`));
    let levels = 0;
    while (typeof value === "object" && value !== null) {
      value = (value as Record<string, unknown>)["a"];
      levels++;
    }
    expect(levels).toBe(depth);
    expect(value).toBe("x");
    // Inside a string, the elements are not part of the value and are skipped.
    expect(valueOf(retrieved(`<val xsi:type="xsd:string">${nested}</val>`))).toBe("");
  });

  it("reads type names that are also names of Object's properties as unknown types", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(valueOf(retrieved(`<val xsi:type="${name}"><key>k</key></val>`))).toEqual({
        _type: name,
        key: "k",
      });
    }
  });

  it("reads an element named __proto__ as a field, not as the object's prototype", () => {
    const value = valueOf(retrieved("<val><__proto__><polluted>yes</polluted></__proto__></val>"));
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({ polluted: "yes" });
    expect((value as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("keeps no part of the answer's text beyond the decoded values", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const heapUsed = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const padding = "x".repeat(1 << 20);
    const kept: unknown[] = [];
    const before = heapUsed();
    for (let i = 0; i < 20; i++) {
      // A 1 MiB answer (its one chunk), of which 40 characters are decoded.
      const answer = retrieved(`<val xsi:type="xsd:string">${"vm-name-".repeat(5)}</val>`).replace(
        "<objects>",
        `<objects><skipped>${padding}${i}</skipped>`,
      );
      kept.push(valueOf(answer));
    }
    // Cut-out strings would keep each 1 MiB answer alive: 20 MiB.
    expect(heapUsed() - before).toBeLessThan(4 << 20);
    expect(kept).toHaveLength(20);
  });

  it("reads a huge text whole", () => {
    const huge = "0123456789abcdef".repeat(1 << 20);
    expect(valueOf(retrieved(`<val xsi:type="xsd:string">${huge}</val>`))).toBe(huge);
  });

  it("refuses a truncated answer, wherever it ends", () => {
    const text = retrieved('<val xsi:type="xsd:string">web</val>');
    for (let end = 0; end < text.length; end += 13) {
      const err = thrownBy(() => readResponse("RetrievePropertiesEx", text.slice(0, end), 200));
      expect(err).toBeInstanceOf(VimProtocolError);
    }
  });

  it("refuses XML that is not well-formed, saying where", () => {
    for (const broken of [
      retrieved("<val>web</value>"),
      retrieved("<val a=b>web</val>"),
      retrieved('<val a="1" a="2">web</val>'),
      retrieved("<val>web</val>") + "<second/>",
      retrieved("<val>w\u0001b</val>"),
    ]) {
      const err = thrownBy(() => readResponse("RetrievePropertiesEx", broken, 200));
      expect(err).toBeInstanceOf(VimProtocolError);
      expect((err as Error).message).toMatch(
        /^HTTP 200: the answer is not well-formed XML: \d+:\d+: /,
      );
    }
  });

  it("keeps refusing once it refused", () => {
    const reader = createResponseReader("RetrievePropertiesEx", 200);
    expect(() => reader.write("<soapenv:Envelope xmlns:soapenv='x'>")).toThrow(
      /not a SOAP envelope/,
    );
    expect(() => reader.write("<more/>")).toThrow(/not a SOAP envelope/);
    expect(() => reader.end()).toThrow(/not a SOAP envelope/);
  });

  it("knows elements by their namespace, not their prefix", () => {
    const envelope = (ns: string, response: string) =>
      `<e:Envelope xmlns:e="${ns}"><e:Body>${response}</e:Body></e:Envelope>`;
    const answer =
      '<CurrentTimeResponse xmlns="urn:vim25"><returnval>t</returnval></CurrentTimeResponse>';
    expect(readResponse("CurrentTime", envelope(soapenv, answer), 200)).toBe("t");
    expect(() => readResponse("CurrentTime", envelope("urn:other", answer), 200)).toThrow(
      /not a SOAP envelope/,
    );
    expect(() =>
      readResponse(
        "CurrentTime",
        envelope(
          soapenv,
          '<CurrentTimeResponse xmlns="urn:other"><returnval>t</returnval></CurrentTimeResponse>',
        ),
        200,
      ),
    ).toThrow(/no CurrentTimeResponse in the answer/);
    // An xsi:type counts only with a prefix bound to the schema-instance namespace.
    expect(valueOf(retrieved('<val xmlns:t="urn:other" t:type="xsd:int">42</val>'))).toBe("42");
    expect(valueOf(retrieved('<val xmlns:t="' + xsi + '" t:type="xsd:int">42</val>'))).toBe(42);
    expect(() => valueOf(retrieved('<val u:type="xsd:int">42</val>'))).toThrow(
      /the prefix u is not declared/,
    );
  });

  it("refuses what is not a SOAP answer to the method", () => {
    expect(() => readResponse("CurrentTime", "<html>proxy error</html>", 502)).toThrow(
      /^HTTP 502: the answer is not a SOAP envelope$/,
    );
    expect(() => readResponse("CurrentTime", "", 200)).toThrow(VimProtocolError);
    expect(() => readResponse("Login", retrieved("<val>x</val>"), 200)).toThrow(
      /no LoginResponse in the answer/,
    );
  });
});

describe("readAnswer", () => {
  it("stops reading an endless answer at its first wrong element", async () => {
    let pulled = 0;
    let destroyed = false;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.from(pulled === 1 ? "<html>" : "<p>more</p>"));
      },
      destroy(err, callback) {
        destroyed = true;
        callback(err);
      },
    });
    await expect(readAnswer("CurrentTime", 200, endless)).rejects.toThrow(/not a SOAP envelope/);
    expect(destroyed).toBe(true);
    expect(pulled).toBeLessThan(5);
  });

  it("refuses bytes that are not UTF-8", async () => {
    const bytes = Buffer.from(retrieved('<val xsi:type="xsd:string">web</val>'));
    const at = bytes.indexOf("w".charCodeAt(0));
    bytes[at] = 0xff;
    await expect(readAnswer("RetrievePropertiesEx", 200, Readable.from([bytes]))).rejects.toThrow(
      /not valid UTF-8/,
    );
  });

  it("decodes a character split across chunks", async () => {
    const bytes = Buffer.from(retrieved('<val xsi:type="xsd:string">é😀</val>'));
    const split = bytes.indexOf(0xf0) + 2;
    const body = Readable.from([bytes.subarray(0, split), bytes.subarray(split)]);
    const result = (await readAnswer("RetrievePropertiesEx", 200, body)) as {
      objects: Array<{ propSet: Array<{ val: unknown }> }>;
    };
    expect(result.objects[0]?.propSet[0]?.val).toBe("é😀");
  });

  it("passes on the error of a body that fails while it is read", async () => {
    const body = new Readable({ read() {} });
    const read = readAnswer("RetrievePropertiesEx", 200, body);
    body.push(Buffer.from("<soapenv:Envelope"));
    body.destroy(new Error("connection reset"));
    await expect(read).rejects.toThrow(/connection reset/);
  });

  it("refuses an answer that ends before its envelope does", async () => {
    const text = retrieved('<val xsi:type="xsd:string">web</val>');
    const body = Readable.from([Buffer.from(text.slice(0, -10))]);
    await expect(readAnswer("RetrievePropertiesEx", 200, body)).rejects.toThrow(
      /not well-formed XML: .*ends inside a tag/,
    );
  });
});
