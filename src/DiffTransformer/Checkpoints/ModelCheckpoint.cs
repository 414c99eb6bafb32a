using DiffTransformer.Checkpoints;

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// A model checkpoint directory, in the layout Hugging Face uses: <c>config.json</c> (the
/// <see cref="DiffTransformerConfig"/> plus string metadata) and <c>model.safetensors</c> (the state dict under the keys
/// documented on <see cref="DiffTransformerLM"/>, e.g. <c>layers.{i}.attn.q_proj.weight</c>). A training checkpoint
/// (<see cref="Trainer.SaveCheckpoint"/>) adds <c>optimizer.safetensors</c> and <c>trainer_state.json</c> and is also a
/// model checkpoint. Saving replaces the directory atomically: a crash leaves the old checkpoint or the new one.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary>File name of the configuration.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>File name of the weights.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>File name of the optimizer moments and random state of a training checkpoint.</summary>
    public const string OptimizerFileName = "optimizer.safetensors";

    /// <summary>File name of the step counter and options of a training checkpoint.</summary>
    public const string TrainerStateFileName = "trainer_state.json";

    /// <summary>The files a checkpoint directory may hold; saving refuses to replace a directory holding anything else.</summary>
    public static IReadOnlySet<string> FileNames { get; } =
        new HashSet<string>(StringComparer.Ordinal) { ConfigFileName, WeightsFileName, OptimizerFileName, TrainerStateFileName };

    /// <summary>
    /// Saves <paramref name="model"/> (its config and weights, in the weights' own dtype) to <paramref name="directory"/>,
    /// replacing a previous checkpoint there atomically. <paramref name="metadata"/> is stored in <c>config.json</c>
    /// (e.g. which tokenizer the model was trained with).
    /// </summary>
    public static void Save(DiffTransformerLM model, string directory, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicDirectory.Write(directory, FileNames, temp => WriteModelFiles(model, model.state_dict(), temp, metadata), nameof(directory));
    }

    /// <summary>
    /// Builds the model that <paramref name="directory"/> describes and loads its weights strictly. The model is on the
    /// CPU in the dtype the weights were saved in (float32 for training checkpoints).
    /// </summary>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the configuration.</exception>
    /// <exception cref="InvalidDataException">A file is damaged or not a checkpoint file.</exception>
    public static DiffTransformerLM Load(string directory)
    {
        var config = ReadConfig(directory);
        string weights = RequireFile(directory, WeightsFileName);
        var header = Safetensors.ReadHeader(weights);
        var model = new DiffTransformerLM(config);
        try
        {
            // Build the model in the saved dtype so that float64 or bfloat16 weights load without rounding.
            var savedType = header.Entries.FirstOrDefault(e => e.Name == "embed_tokens.weight")?.ScalarType;
            if (savedType is { } type and (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64)) model.to(type);
            ModuleWeights.Load(model, weights, strict: true);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the weights of <paramref name="directory"/> into an existing <paramref name="model"/>, whose config must
    /// equal the saved one (the attention kernel aside). See <see cref="ModuleWeights.Load(TorchSharp.torch.nn.Module, string, bool, bool)"/>
    /// for <paramref name="strict"/> and <paramref name="convertDTypes"/>. Like every weight update it refuses to overlap
    /// inference on the model (<see cref="InvalidOperationException"/>).
    /// </summary>
    public static WeightLoadReport LoadWeights(DiffTransformerLM model, string directory, bool strict = true, bool convertDTypes = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = ReadConfig(directory);
        if (strict) RequireSameConfig(model.Config, config, directory);
        return ModuleWeights.Load(model, RequireFile(directory, WeightsFileName), strict, convertDTypes);
    }

    /// <summary>Reads the configuration saved in <paramref name="directory"/>.</summary>
    public static DiffTransformerConfig ReadConfig(string directory) => ConfigJson.Read(RequireFile(directory, ConfigFileName)).Config;

    /// <summary>Reads the string metadata saved in <paramref name="directory"/>'s <c>config.json</c>.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string directory) =>
        ConfigJson.Read(RequireFile(directory, ConfigFileName)).Metadata;

    internal static void WriteModelFiles(DiffTransformerLM model, IReadOnlyDictionary<string, Tensor> weights, string directory,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        Safetensors.Save(Path.Combine(directory, WeightsFileName), weights, meta);
        byte[] config = ConfigJson.Serialize(model.Config, metadata);
        AtomicFile.Write(Path.Combine(directory, ConfigFileName), stream => stream.Write(config));
    }

    internal static void RequireSameConfig(DiffTransformerConfig expected, DiffTransformerConfig saved, string directory)
    {
        if (saved with { Kernel = expected.Kernel } != expected)
            throw new ArgumentException(
                $"The checkpoint in '{directory}' was saved from a different configuration: saved {saved}, model {expected}.", nameof(directory));
    }

    /// <summary>The path of <paramref name="fileName"/> in the checkpoint, or a clear error when it is absent.</summary>
    internal static string RequireFile(string directory, string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        string path = Path.Combine(full, fileName);
        if (File.Exists(path)) return path;
        if (!Directory.Exists(full))
        {
            string? parent = Path.GetDirectoryName(full);
            var left = parent is null || !Directory.Exists(parent)
                ? Array.Empty<string>()
                : Directory.GetDirectories(parent, $".{Path.GetFileName(full)}.old-*");
            string hint = left.Length > 0 ? $" An interrupted save left the previous checkpoint at '{left[0]}'." : "";
            throw new DirectoryNotFoundException($"No checkpoint directory '{full}'.{hint}");
        }
        throw new FileNotFoundException($"The checkpoint directory '{full}' has no {fileName}.", path);
    }
}
