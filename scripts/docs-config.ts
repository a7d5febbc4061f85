// `npm run docs:config`: writes docs/configuration.md from the settings table
// (src/config/config.ts). test/config/reference.test.ts fails until it is run
// after a setting changes.
import { writeFileSync } from "node:fs";
import { configurationReference } from "../src/config/reference.ts";

const target = new URL("../docs/configuration.md", import.meta.url);
writeFileSync(target, configurationReference());
console.log("wrote docs/configuration.md");
