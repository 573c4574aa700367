#!/usr/bin/env bash
# Refreshes the GraphiQL assets that roombook embeds (assets/graphiql/), from the npm registry,
# at the pinned versions below. GraphiQL 3 is the last release line with a prebuilt browser
# bundle (UMD); 4 and later are ES modules that need a bundler.
#
#   scripts/update-graphiql.sh      then rebuild; commit assets/graphiql/ with the change
set -euo pipefail

GRAPHIQL=3.8.3
REACT=18.3.1
GRAPHQL=16.15.0
GRAPHQL_WS=5.16.2

here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/assets/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent \
  "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql@$GRAPHQL" "graphql-ws@$GRAPHQL_WS"

mkdir -p "$out"
cp node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css "$out/"
cp node_modules/react/umd/react.production.min.js "$out/"
cp node_modules/react-dom/umd/react-dom.production.min.js "$out/"
cp node_modules/graphql-ws/umd/graphql-ws.min.js "$out/"
cp node_modules/graphiql/LICENSE "$out/LICENSE.graphiql"
cp node_modules/react/LICENSE "$out/LICENSE.react"
cp node_modules/graphql-ws/LICENSE.md "$out/LICENSE.graphql-ws"

cat > "$out/README.md" <<MD
# GraphiQL assets embedded in roombook

Served by roombook itself under \`/graphiql/\` so GraphiQL works with no internet access.
Fetched from the npm registry by \`scripts/update-graphiql.sh\`; do not edit by hand.

| file | package | version | licence |
| --- | --- | --- | --- |
| graphiql.min.js, graphiql.min.css | graphiql | $GRAPHIQL | MIT (LICENSE.graphiql) |
| react.production.min.js | react | $REACT | MIT (LICENSE.react) |
| react-dom.production.min.js | react-dom | $REACT | MIT (LICENSE.react) |
| graphql-ws.min.js | graphql-ws | $GRAPHQL_WS | MIT (LICENSE.graphql-ws) |
MD
echo "GraphiQL $GRAPHIQL assets written to $out"
