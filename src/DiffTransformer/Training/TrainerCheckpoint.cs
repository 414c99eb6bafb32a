using DiffTransformer.Checkpoints;

using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The training half of a checkpoint. <c>optimizer.safetensors</c> holds, per optimized parameter (by its state-dict
/// name), <c>{name}.exp_avg</c>, <c>{name}.exp_avg_sq</c> (the parameter's shape, float32) and <c>{name}.step</c> (int64
/// scalar), plus <c>rng.torch_cpu</c> (uint8, the CPU generator state). <c>trainer_state.json</c> holds the step, token
/// and skipped-step counts and the options (without the run-control ones, which are not saved). Format version 2 added
/// <c>skipped_steps</c>; version 1 files (without it) still load, with no skipped steps. Keys, not positions, tie the state to parameters, and every tensor is checked like weights.
/// </summary>
internal static class TrainerCheckpoint
{
    public const string RandomStateKey = "rng.torch_cpu";
    private const int FormatVersion = 2;

    /// <summary>The largest <c>elapsed_seconds</c> read (about 317 years; <see cref="TimeSpan"/> holds 29,000).</summary>
    private const double MaxElapsedSeconds = 1e10;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
        // Every field, the format version and each option included, must be present: a missing one is an error, not a default.
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequireEveryProperty } },
    };

    private static void RequireEveryProperty(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var property in info.Properties)
            if (property.Set is not null) property.IsRequired = true; // not the computed TrainingOptions.Schedule
    }

    public sealed record State(long CompletedSteps, long Tokens, double ElapsedSeconds, TrainingOptions Options, long SkippedSteps)
    {
        public int FormatVersion { get; init; } = TrainerCheckpoint.FormatVersion;
    }

    /// <summary>Format version 1 (DiffTransformer 0.1.0): no skipped-step count.</summary>
    private sealed record StateVersion1(long CompletedSteps, long Tokens, double ElapsedSeconds, TrainingOptions Options)
    {
        public int FormatVersion { get; init; }

        public State Upgrade() => new(CompletedSteps, Tokens, ElapsedSeconds, Options, SkippedSteps: 0) { FormatVersion = TrainerCheckpoint.FormatVersion };
    }

    public static void WriteState(string path, State state)
    {
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(state, Json);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    public static State ReadState(string path) => ReadState(File.ReadAllBytes(path), path);

    /// <summary>Reads the trainer state file contents <paramref name="utf8"/>, naming <paramref name="path"/> in errors.</summary>
    public static State ReadState(byte[] utf8, string path)
    {
        State? state;
        using var document = StrictJson.Parse(utf8, why => new InvalidDataException($"'{path}' is not a valid trainer state: {why}."));
        var root = document.RootElement;
        int? version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format_version", out var v) &&
            v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) ? n : null;
        if (version is not null and not (1 or FormatVersion))
            throw new InvalidDataException(
                $"'{path}' has trainer state format_version {version}; this version of DiffTransformer reads versions 1 to {FormatVersion} " +
                "(a newer version wrote it?).");
        try
        {
            state = version == 1 ? document.Deserialize<StateVersion1>(Json)?.Upgrade() : document.Deserialize<State>(Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid trainer state: {e.Message}", e);
        }
        if (state is null || state.Options is null || state.FormatVersion != FormatVersion || state.CompletedSteps < 0 || state.Tokens < 0 ||
            state.SkippedSteps < 0 || state.SkippedSteps > state.CompletedSteps)
            throw new InvalidDataException(
                $"'{path}' is not a valid trainer state (format_version {FormatVersion}, counts >= 0, skipped steps <= completed steps, options present).");
        // LoadCheckpoint makes a TimeSpan of it, which throws OverflowException past about 9.2e11 s (found by review
        // while fuzzing: the reader accepted any number).
        if (!(state.ElapsedSeconds >= 0 && state.ElapsedSeconds <= MaxElapsedSeconds))
            throw new InvalidDataException(
                $"'{path}' is not a valid trainer state: elapsed_seconds must lie in [0, {MaxElapsedSeconds:0e0}]; it is {state.ElapsedSeconds:R}.");
        try
        {
            state.Options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' holds invalid options: {e.Message}", e);
        }
        return state;
    }

    public static void WriteOptimizer(string path, AdamW optimizer, IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        var states = States(optimizer, parameters);
        for (int i = 0; i < parameters.Count; i++)
        {
            string name = parameters[i].Name;
            tensors[name + ".exp_avg"] = states[i].exp_avg;
            tensors[name + ".exp_avg_sq"] = states[i].exp_avg_sq;
            tensors[name + ".step"] = tensor(states[i].step);
        }
        tensors[RandomStateKey] = random.get_rng_state();
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["optimizer"] = "AdamW" });
    }

    /// <summary>Checks and reads the optimizer file without changing anything; <see cref="Pending.Apply"/> installs it.</summary>
    public static Pending ReadOptimizer(string path, AdamW optimizer, IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        var states = States(optimizer, parameters);
        Dictionary<string, Tensor> loaded; // owned by the returned Pending
        using (NewDisposeScope())
        {
            var expected = new Dictionary<string, Tensor>();
            for (int i = 0; i < parameters.Count; i++)
            {
                expected[parameters[i].Name + ".exp_avg"] = states[i].exp_avg;
                expected[parameters[i].Name + ".exp_avg_sq"] = states[i].exp_avg_sq;
                expected[parameters[i].Name + ".step"] = tensor(0L);
            }
            expected[RandomStateKey] = random.get_rng_state();
            loaded = ModuleWeights.Read(expected, path, strict: true, convertDTypes: false, "directory").Tensors;
            foreach (var t in loaded.Values) t.DetachFromDisposeScope();
        }
        try
        {
            var steps = new long[parameters.Count];
            for (int i = 0; i < parameters.Count; i++)
            {
                steps[i] = loaded[parameters[i].Name + ".step"].item<long>();
                if (steps[i] < 0)
                    throw new InvalidDataException($"'{path}' has a negative step for '{parameters[i].Name}': {steps[i]}.");
            }
            CheckRandomState(loaded[RandomStateKey], path);
            return new Pending(states, parameters, loaded, steps);
        }
        catch
        {
            foreach (var t in loaded.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks a CPU generator state the way libtorch's <c>CPUGeneratorImpl::set_state</c> does (its mt19937 must be
    /// seeded, with <c>left</c> in [1, 624] and <c>next</c> &lt;= 624). It has to happen here: libtorch's own check
    /// throws a C++ error that TorchSharp 0.107 does not catch, which terminates the process. Layout (a prefix of
    /// <c>CPUGeneratorImplState</c>): int64 seed, int32 left, int32 seeded, int64 next, then the state words.
    /// </summary>
    private static void CheckRandomState(Tensor state, string path)
    {
        const int StateWords = 624;
        byte[] bytes = state.data<byte>().ToArray();
        if (bytes.Length < 24)
            throw new InvalidDataException($"'{path}' holds an invalid CPU random state ({RandomStateKey}): {bytes.Length} bytes.");
        int left = BitConverter.ToInt32(bytes, 8);
        int seeded = BitConverter.ToInt32(bytes, 12);
        uint next = (uint)BitConverter.ToUInt64(bytes, 16); // libtorch keeps the low 32 bits
        if (seeded == 0 || left < 1 || left > StateWords || next > StateWords)
            throw new InvalidDataException(
                $"'{path}' holds an invalid CPU random state ({RandomStateKey}): the mt19937 generator must be seeded " +
                $"with left in [1, {StateWords}] and next <= {StateWords}; got seeded {seeded}, left {left}, next {next}.");
    }

    private static AdamW.State[] States(AdamW optimizer, IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        var states = optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        if (states.Length != parameters.Count)
            throw new InvalidOperationException($"The optimizer has {states.Length} parameter states but {parameters.Count} parameters were named.");
        return states;
    }

    /// <summary>Optimizer state read from a file, installed by <see cref="Apply"/>.</summary>
    public sealed class Pending : IDisposable
    {
        private readonly AdamW.State[] states;
        private readonly IReadOnlyList<(string Name, Parameter Parameter)> parameters;
        private readonly Dictionary<string, Tensor> loaded;
        private readonly long[] steps;

        internal Pending(AdamW.State[] states, IReadOnlyList<(string Name, Parameter Parameter)> parameters,
            Dictionary<string, Tensor> loaded, long[] steps)
        {
            this.states = states;
            this.parameters = parameters;
            this.loaded = loaded;
            this.steps = steps;
        }

        public void Apply()
        {
            using (no_grad())
            {
                for (int i = 0; i < states.Length; i++)
                {
                    states[i].exp_avg.copy_(loaded[parameters[i].Name + ".exp_avg"]);
                    states[i].exp_avg_sq.copy_(loaded[parameters[i].Name + ".exp_avg_sq"]);
                    states[i].step = steps[i];
                }
            }
            random.set_rng_state(loaded[RandomStateKey]);
        }

        public void Dispose()
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
    }
}
