// noVNC 1.7 exports its RFB client at the package's root (core/rfb.js);
// @types/novnc__novnc still names it by its old path, lib/rfb.
declare module "@novnc/novnc" {
  export { default } from "@novnc/novnc/lib/rfb";
}
