using static TorchSharp.torch;

namespace DiffTransformer.Fuzz;

/// <summary>
/// How each target hands its input to its reader. In-memory entry points where a reader has one; otherwise the input is
/// written to the file name the reader expects in the target's directory of the <see cref="FuzzWorkspace"/>. Inputs that
/// feed two files are split at their first NUL byte (never valid in the JSON part): before it the first file, after it
/// the second. Each returns "accepted" when the reader returned a valid result.
/// </summary>
internal static class ReaderCalls
{
    private const string Accepted = "accepted";

    /// <summary>Safetensors.Load (header then data) of the input as model.safetensors.</summary>
    public static string Safetensors(FuzzWorkspace workspace, byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        var tensors = DiffTransformer.Checkpoints.Safetensors.Load(stream, workspace.File("safetensors", ModelCheckpoint.WeightsFileName), include: null);
        long bytes = 0;
        foreach (var t in tensors.Values)
        {
            bytes += t.NumberOfElements * t.ElementSize;
            t.Dispose();
        }
        if (bytes > input.Length)
            throw new FuzzInvariantException($"safetensors: {bytes} bytes of tensors from a {input.Length}-byte file");
        return Accepted;
    }

    /// <summary>The checkpoint config.json (ModelCheckpoint.ReadConfig's reader).</summary>
    public static string Config(FuzzWorkspace workspace, byte[] input)
    {
        _ = ConfigJson.Read(input, workspace.File("config", ModelCheckpoint.ConfigFileName));
        return Accepted;
    }

    /// <summary>trainer_state.json (Trainer.LoadCheckpoint's first read after the config).</summary>
    public static string TrainerState(FuzzWorkspace workspace, byte[] input)
    {
        var state = TrainerCheckpoint.ReadState(input, workspace.File("trainer-state", ModelCheckpoint.TrainerStateFileName));
        _ = TimeSpan.FromSeconds(state.ElapsedSeconds); // what LoadCheckpoint does with it: a valid state must allow it
        return Accepted;
    }

    /// <summary>optimizer.safetensors through Trainer.LoadCheckpoint, beside the valid files of a tiny model's training checkpoint.</summary>
    public static string Optimizer(FuzzWorkspace workspace, byte[] input)
    {
        var (trainer, directory) = workspace.TrainingCheckpoint();
        File.WriteAllBytes(Path.Combine(directory, ModelCheckpoint.OptimizerFileName), input);
        trainer.LoadCheckpoint(directory);
        return Accepted;
    }

    /// <summary>
    /// HuggingFaceWeightIndex.Open of a directory holding the input's first part as model.safetensors.index.json and two
    /// shards, model-00001-of-00002.safetensors (the input's second part when there is one) and model-00002-of-00002.safetensors.
    /// </summary>
    public static string HuggingFaceIndex(FuzzWorkspace workspace, byte[] input)
    {
        var (index, shard) = SplitAtNul(input);
        string directory = workspace.ShardedDirectory();
        File.WriteAllBytes(Path.Combine(directory, HuggingFaceWeightIndex.IndexFileName), index);
        File.WriteAllBytes(Path.Combine(directory, FuzzWorkspace.FirstShard), shard ?? FuzzWorkspace.FirstShardBytes());
        _ = HuggingFaceWeightIndex.Open(directory);
        return Accepted;
    }

    /// <summary>A Hugging Face config.json: HuggingFaceConfigReader.Parse, then the model config HuggingFaceCheckpoint.Load builds from it.</summary>
    public static string HuggingFaceConfig(FuzzWorkspace workspace, byte[] input)
    {
        string path = workspace.File("hf-config", HuggingFaceConfigReader.FileName);
        var config = HuggingFaceConfigReader.Parse(input, path);
        _ = HuggingFaceModelMap.ToConfig(config, path, AttentionKernel.Auto);
        return Accepted;
    }

    /// <summary>generation_config.json (HuggingFaceGenerationConfig.Parse).</summary>
    public static string HuggingFaceGenerationConfig(FuzzWorkspace workspace, byte[] input)
    {
        _ = DiffTransformer.HuggingFaceGenerationConfig.Parse(input, workspace.File("hf-generation-config", DiffTransformer.HuggingFaceGenerationConfig.FileName));
        return Accepted;
    }

    /// <summary>HuggingFaceTokenizer.Load of a directory holding the input as tokenizer.json; a loaded tokenizer must encode and decode.</summary>
    public static string TokenizerJson(FuzzWorkspace workspace, byte[] input)
    {
        string directory = workspace.Directory("tokenizer-json");
        File.WriteAllBytes(Path.Combine(directory, HuggingFaceTokenizer.TokenizerJsonFile), input);
        return Use(HuggingFaceTokenizer.Load(directory));
    }

    /// <summary>HuggingFaceTokenizer.Load of a directory holding the input as tokenizer.model (SentencePiece protobuf).</summary>
    public static string TokenizerModel(FuzzWorkspace workspace, byte[] input)
    {
        string directory = workspace.Directory("tokenizer-model");
        File.WriteAllBytes(Path.Combine(directory, HuggingFaceTokenizer.SentencePieceFile), input);
        return Use(HuggingFaceTokenizer.Load(directory));
    }

    /// <summary>
    /// HuggingFaceTokenizer.Load of a directory holding a valid byte-level BPE tokenizer.json, the input's first part as
    /// tokenizer_config.json and its second part, when there is one, as config.json.
    /// </summary>
    public static string TokenizerConfig(FuzzWorkspace workspace, byte[] input)
    {
        var (tokenizerConfig, modelConfig) = SplitAtNul(input);
        string directory = workspace.TokenizerDirectory();
        File.WriteAllBytes(Path.Combine(directory, "tokenizer_config.json"), tokenizerConfig);
        string config = Path.Combine(directory, "config.json");
        if (modelConfig is null) File.Delete(config);
        else File.WriteAllBytes(config, modelConfig);
        return Use(HuggingFaceTokenizer.Load(directory));
    }

    /// <summary>A valid tokenizer encodes a short text (BOS/EOS as configured) and decodes the ids.</summary>
    private static string Use(HuggingFaceTokenizer tokenizer)
    {
        int[] ids = tokenizer.EncodeWithSpecialTokens("Hello, wörld! 123 <s>");
        _ = tokenizer.Decode(ids);
        return Accepted;
    }

    private static (byte[] First, byte[]? Second) SplitAtNul(byte[] input)
    {
        int nul = Array.IndexOf(input, (byte)0);
        return nul < 0 ? (input, null) : (input[..nul], input[(nul + 1)..]);
    }
}
