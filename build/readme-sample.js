// The front page's sample output: README.md shows what `npm run synth` printed for dist/, in the fenced block after the
// marker below, and `npm run synth` rewrites that block each time, so a fork's README shows its own names and files
// without a second command (CI fails when the committed README differs, as for dist/).
const fs = require('fs');
const path = require('path');

const MARKER = '<!-- npm run synth rewrites the block below with what it printed for dist/ -->';

/** README's text with the block after the marker replaced by `output`; the text unchanged when it has no marker. */
function withSample(readme, output) {
  const at = readme.indexOf(MARKER);
  if (at < 0) return readme;
  const rest = readme.slice(at + MARKER.length);
  const block = /^\n```\n[\s\S]*?\n```\n/.exec(rest);
  if (!block) throw new Error(`README.md: the marker "${MARKER}" must be followed by a fenced block`);
  return `${readme.slice(0, at + MARKER.length)}\n\`\`\`\n${output.trimEnd()}\n\`\`\`\n${rest.slice(block[0].length)}`;
}

/** Rewrites README.md's sample under `root` when it differs; true when it wrote. */
function refreshSample(root, output) {
  const file = path.join(root, 'README.md');
  if (!fs.existsSync(file)) return false;
  const before = fs.readFileSync(file, 'utf8');
  const after = withSample(before, output);
  if (after === before) return false;
  fs.writeFileSync(file, after);
  return true;
}

module.exports = { MARKER, refreshSample, withSample };
