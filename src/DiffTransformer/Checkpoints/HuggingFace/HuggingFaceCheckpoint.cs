using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Model directories as transformers' <c>save_pretrained</c> writes them: <c>config.json</c>, optional
/// <c>generation_config.json</c>, and <c>model.safetensors</c> or shards with <c>model.safetensors.index.json</c>.
/// <c>llama</c> (<c>LlamaForCausalLM</c>) loads as the softmax model and <c>diffllama</c> (<c>DiffLlamaForCausalLM</c>)
/// as differential attention V1, computing what transformers' eager code computes; a model saved here loads in
/// transformers. Layouts differ only by row permutations (see <c>docs/huggingface.md</c>), so a load followed by a save
/// gives the stored tensors back bit for bit.
/// </summary>
public static class HuggingFaceCheckpoint
{
    /// <summary>
    /// Loads the model in <paramref name="directory"/>. Its end-of-sequence ids (<c>generation_config.json</c>, else
    /// <c>config.json</c>) become <see cref="DiffTransformerLM.StopTokens"/>. Throws <see cref="FileNotFoundException"/>
    /// for a missing directory or <c>config.json</c>, <see cref="InvalidDataException"/> naming the file, the key and
    /// the value for a config or file this library cannot read (another <c>model_type</c>, rope type or activation,
    /// sliding windows, broken or lying safetensors, a missing shard), and <see cref="CheckpointMismatchException"/>
    /// listing every missing, unexpected or mis-shaped tensor at once. Nothing is returned half-loaded. The model is built
    /// with LibTorch's process-wide default dtype set to the target dtype for the moment of construction: another thread
    /// creating tensors without an explicit dtype at that moment would see it.
    /// </summary>
    public static DiffTransformerLM Load(string directory, HuggingFaceLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new HuggingFaceLoadOptions();
        if (!Directory.Exists(directory))
            throw new FileNotFoundException($"The Hugging Face model directory '{directory}' does not exist.", directory);
        string configPath = Path.Combine(directory, HuggingFaceConfigReader.FileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"'{directory}' holds no {HuggingFaceConfigReader.FileName}; it is not a Hugging Face model directory.", configPath);
        var hf = HuggingFaceConfigReader.Read(configPath);
        var generation = HuggingFaceGenerationConfig.ReadOptional(directory);
        var config = HuggingFaceModelMap.ToConfig(hf, configPath, options.Kernel);
        var index = HuggingFaceWeightIndex.Open(directory);

        var model = Build(config, options.DType);
        try
        {
            HuggingFaceWeights.Read(model, index, HuggingFaceModelMap.Tensors(config), options.Progress);
            var stops = generation?.EosTokenIds is { Count: > 0 } fromGeneration ? fromGeneration : hf.EosTokenIds;
            model.StopTokens = stops.Select(id => (long)id).ToArray();
            if (options.Device is { } device && device.type != DeviceType.CPU) model.to(device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Saves <paramref name="model"/> as a Hugging Face directory: softmax models as <c>llama</c>, V1 as
    /// <c>diffllama</c> (the unilm layout's per-head norm weight is folded into <c>o_proj</c>, which leaves the function
    /// unchanged). <see cref="DiffTransformerLM.StopTokens"/> become <c>eos_token_id</c>. The write is atomic: on failure
    /// the directory is as it was. Models with no Hugging Face equivalent (V2; V1 with <c>HeadNormEps != NormEps</c> or
    /// feed-forward biases) are refused with an <see cref="ArgumentException"/> before any file is written.
    /// </summary>
    public static void Save(DiffTransformerLM model, string directory, HuggingFaceSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new HuggingFaceSaveOptions();
        Guard.AtLeast(options.MaxShardSizeBytes, nameof(HuggingFaceSaveOptions.MaxShardSizeBytes), 1L);
        var dtype = options.DType ?? ModelDType(model);
        var hf = HuggingFaceModelMap.FromConfig(model.Config, dtype, model.StopTokens, nameof(model));
        using var scope = NewDisposeScope();
        var tensors = HuggingFaceWeights.Stored(model, HuggingFaceModelMap.Tensors(model.Config));
        var generation = new HuggingFaceGenerationConfig(null, hf.EosTokenIds, hf.EosTokenIdIsList, null);
        HuggingFaceDirectory.Save(directory, hf, generation, tensors, options.MaxShardSizeBytes, dtype);
    }

    private static ScalarType ModelDType(DiffTransformerLM model) => model.state_dict()["embed_tokens.weight"].dtype;

    /// <summary>
    /// A model of <paramref name="config"/> whose parameters are created in <paramref name="dtype"/> (LibTorch's default
    /// dtype is set for the construction only), so that no float32 copy of a half-precision model ever exists.
    /// </summary>
    private static DiffTransformerLM Build(DiffTransformerConfig config, ScalarType dtype)
    {
        var previous = get_default_dtype();
        set_default_dtype(dtype);
        try
        {
            return new DiffTransformerLM(config);
        }
        finally
        {
            set_default_dtype(previous);
        }
    }
}
