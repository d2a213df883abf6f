#!/usr/bin/env bash
# Regenerates src/generated from ../../proto/*.proto with protoc (Debian: protobuf-compiler)
# and ts-proto. Output is committed; CI fails when running this changes it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-src/generated}
command -v protoc >/dev/null || { echo "gen: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto=./node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,importSuffix=.js,forceLong=number,useOptionals=none,outputJsonMethods=false,outputPartialMethods=false,useExactTypes=false \
  -I ../../proto ../../proto/raft.proto
