import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ChecksumAlgorithm,
  ErrorReason,
  ImageFormat,
  ImageSourceKind,
  type ImageSourceSchema,
} from "@virtrigaud/contracts";
import { check, expectReason, expectSuccess } from "../suite/checks.js";
import { parseImageRef } from "../suite/image-ref.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const imageProfile: Profile = {
  name: "image",
  description:
    "ImagePrepare from every declared kind of source, idempotent by name, then Create from the image",
  declared: (c) => c.imagePrepare,
};

type Source = MessageInitShape<typeof ImageSourceSchema>;

/** A small raw disk image: a MiB of zeros with a marker, so its digest is its own. */
function imageBytes(marker: string): Buffer {
  const bytes = Buffer.alloc(1024 * 1024);
  bytes.write(`vcts image ${marker}`);
  return bytes;
}

/** Serves `bytes` on 127.0.0.1 until the case's signal aborts or `close` is called. */
async function serveOnce(
  bytes: Buffer,
  signal: AbortSignal,
): Promise<{ url: string; close: () => void }> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(bytes),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  signal.addEventListener("abort", close, { once: true });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/vcts-image.raw`,
    close,
  };
}

/** Prepares an image from `source`, checks a repeat is accepted, and creates a VM from it. */
async function prepareAndUse(t: CaseContext, kind: string, source: Source) {
  const name = t.name(kind);
  const first = await expectSuccess(
    t.client.imagePrepare({ name, source }, { signal: t.signal }),
    `ImagePrepare from a ${kind}`,
  );
  await expectSuccess(t.wait(first.task), `the task of ImagePrepare from a ${kind}`);
  check(first.image?.source.case, `ImagePrepare from a ${kind} did not say how to use the image`);
  const again = await expectSuccess(
    t.client.imagePrepare({ name, source }, { signal: t.signal }),
    `a second ImagePrepare from a ${kind}`,
  );
  await expectSuccess(t.wait(again.task), `the task of a second ImagePrepare from a ${kind}`);
  const vmId = await t.createVm(`from-${kind}`, { image: first.image });
  await t.describe(vmId);
  t.log(`prepared ${name} from a ${kind} and created a VM from it`);
  return first.image;
}

export const imageCases: ConformanceCase[] = [
  {
    id: "image/prepare",
    profile: "image",
    title: "ImagePrepare from each declared kind of source, then Create from the prepared image",
    declared: (c) => c.imagePrepare,
    async run(t) {
      const kinds = t.capabilities.imageSources;
      check(kinds.length, "image_prepare is declared but image_sources declares no kind of source");
      const scratch = mkdtempSync(join(tmpdir(), "vcts-image-"));
      const stops: Array<() => void> = [];
      try {
        let prepared: Source | undefined;
        if (kinds.includes(ImageSourceKind.URL)) {
          let source: Source;
          if (t.options.imageUrl) {
            source = parseImageRef(`url:${t.options.imageUrl}`);
          } else {
            const bytes = imageBytes(t.name("url"));
            const served = await serveOnce(bytes, t.signal);
            stops.push(served.close);
            const value = createHash("sha256").update(bytes).digest("hex");
            source = {
              source: {
                case: "url",
                value: {
                  url: served.url,
                  checksum: { algorithm: ChecksumAlgorithm.SHA256, value },
                  format: ImageFormat.RAW,
                },
              },
            };
          }
          prepared = await prepareAndUse(t, "url", source);
        }
        if (kinds.includes(ImageSourceKind.PATH)) {
          let path = t.options.imagePath;
          if (!path) {
            path = join(scratch, "vcts-image.raw");
            writeFileSync(path, imageBytes(t.name("path")));
          }
          // A provider may answer a path with the path itself (nothing to copy), or with a template.
          const fromPath = await prepareAndUse(t, "path", {
            source: { case: "path", value: path },
          });
          if (fromPath?.source.case === "template") prepared = fromPath;
        }
        if (kinds.includes(ImageSourceKind.TEMPLATE)) {
          // A template the provider has: the run's --image template, or an image prepared above.
          const template =
            t.image?.source.case === "template"
              ? t.image.source.value
              : prepared?.source?.case === "template"
                ? prepared.source.value
                : undefined;
          check(
            template,
            "TEMPLATE sources are declared, but there is no template to prepare from: pass --image template:NAME",
          );
          await prepareAndUse(t, "template", { source: { case: "template", value: template } });
        }
      } finally {
        for (const stop of stops) stop();
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    async unsupported(t) {
      await expectReason(
        t.client.imagePrepare(
          { name: t.name("img"), source: { source: { case: "template", value: "any" } } },
          { signal: t.signal },
        ),
        [ErrorReason.UNSUPPORTED],
        "ImagePrepare when image_prepare is not declared",
      );
    },
  },
  {
    id: "image/undeclared-sources",
    profile: "image",
    title: "Image sources that are not declared answer UNSUPPORTED",
    async run(t) {
      const kinds = t.capabilities.imageSources;
      const samples: Array<[ImageSourceKind, Source]> = [
        [ImageSourceKind.TEMPLATE, { source: { case: "template", value: "vcts-template" } }],
        [ImageSourceKind.PATH, { source: { case: "path", value: "/vcts/image.raw" } }],
        [
          ImageSourceKind.URL,
          {
            source: {
              case: "url",
              value: {
                url: "http://127.0.0.1:9/vcts.raw",
                checksum: { algorithm: ChecksumAlgorithm.SHA256, value: "0".repeat(64) },
              },
            },
          },
        ],
      ];
      for (const [kind, source] of samples) {
        if (kinds.includes(kind)) continue;
        await expectReason(
          t.client.create(t.vmRequest(t.name("src"), { image: source }), { signal: t.signal }),
          [ErrorReason.UNSUPPORTED],
          `Create from an undeclared ${ImageSourceKind[kind]} source`,
        );
        t.log(`${ImageSourceKind[kind]} is not declared and answers UNSUPPORTED`);
      }
    },
  },
];
