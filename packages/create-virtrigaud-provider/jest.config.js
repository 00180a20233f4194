import preset from "../../jest.preset.js";

export default { ...preset, displayName: "create-virtrigaud-provider" };
