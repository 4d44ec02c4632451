// pg lives in @spendlens/core's dependencies; the root scripts borrow it from there.
module.exports = require(
  require.resolve("pg", { paths: [require("node:path").join(__dirname, "../packages/core")] }),
);
