#!/usr/bin/env bash
# Runs one AFL++ campaign on a DiffTransformer file reader: fuzz/run.sh TARGET [SECONDS] (default 1200).
# Installs afl++ (Debian) and the SharpFuzz tool if missing, builds fuzz/DiffTransformer.Fuzz in Release, instruments
# DiffTransformer.dll, DiffTransformer.Tokenizers.dll and Microsoft.ML.Tokenizers.dll, seeds from fuzz/corpus/TARGET
# (plus fuzz/findings/TARGET), fuzzes for SECONDS and prints executions, paths, edges, crashes and hangs.
# Output: fuzz/out/TARGET/ (afl-fuzz's folder: default/crashes, default/hangs, default/fuzzer_stats). Ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."

targets="safetensors config trainer-state optimizer hf-index hf-config hf-generation-config tokenizer-json tokenizer-model tokenizer-config"
target="${1:-}"
seconds="${2:-1200}"
if [[ -z "$target" || " $targets " != *" $target "* ]]; then
  echo "usage: fuzz/run.sh TARGET [SECONDS]; TARGET is one of: $targets" >&2
  exit 2
fi

if ! command -v afl-fuzz >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] && sudo="" || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq afl++ >/dev/null
fi
tools="$PWD/fuzz/out/tools"
if [[ ! -x "$tools/sharpfuzz" ]]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

project=fuzz/DiffTransformer.Fuzz
dotnet build "$project" -c Release -nologo -v quiet
bin="$project/bin/Release/net10.0"
# Instrument fresh copies every time (sharpfuzz rewrites in place and refuses an assembly it has instrumented).
cp src/DiffTransformer/bin/Release/net10.0/DiffTransformer.dll "$bin/"
cp src/DiffTransformer.Tokenizers/bin/Release/net10.0/DiffTransformer.Tokenizers.dll "$bin/"
mltok=$(find "${NUGET_PACKAGES:-$HOME/.nuget/packages}/microsoft.ml.tokenizers/2.0.1/lib" -path '*net8.0/Microsoft.ML.Tokenizers.dll' | head -1)
cp "$mltok" "$bin/"
for dll in DiffTransformer.dll DiffTransformer.Tokenizers.dll Microsoft.ML.Tokenizers.dll; do
  "$tools/sharpfuzz" "$bin/$dll" >/dev/null
done

out="fuzz/out/$target"
seeds="fuzz/out/seeds-$target"
rm -rf "$out" "$seeds"
mkdir -p "$seeds"
cp fuzz/corpus/"$target"/* "$seeds/"
[[ -d "fuzz/findings/$target" ]] && cp fuzz/findings/"$target"/* "$seeds/" 2>/dev/null || true

# AFL's -m (an address-space limit) cannot be used with .NET, which reserves far more virtual memory than it uses:
# the GC heap limit bounds the process instead (512 MiB), and the target checks 64 MiB of allocations per input.
# -t 5000: the target itself fails an input that takes over 1 s; AFL's own bound catches what never returns.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DIFFTRANSFORMER_FUZZ_LOG="$PWD/$out.violations"
rm -f "$DIFFTRANSFORMER_FUZZ_LOG"
export DOTNET_GCHeapHardLimit=0x20000000 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_TieredCompilation=0
echo "fuzzing $target for $seconds s (output in $out)"
afl-fuzz -i "$seeds" -o "$out" -V "$seconds" -t 5000 -m none -- dotnet "$bin/DiffTransformer.Fuzz.dll" "$target" >"$out.log" 2>&1 || {
  echo "afl-fuzz failed; see $out.log" >&2; tail -30 "$out.log" >&2; exit 1; }

stats="$out/default/fuzzer_stats"
value() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "target $target: ran $(value run_time) s, $(value execs_done) executions ($(value execs_per_sec)/s)," \
  "$(value corpus_count) paths, edges $(value edges_found) of $(value total_edges) ($(value bitmap_cvg))," \
  "$crashes crashes, $hangs hangs"
[[ -s "$DIFFTRANSFORMER_FUZZ_LOG" ]] && { echo "invariant violations (fuzz/out/$target.violations):"; sort -u -k2 "$DIFFTRANSFORMER_FUZZ_LOG" | head -5; }
if (( crashes + hangs > 0 )); then
  echo "replay one: dotnet $bin/DiffTransformer.Fuzz.dll $target $out/default/crashes/id:..."
fi
