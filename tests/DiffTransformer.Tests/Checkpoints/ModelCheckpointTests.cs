using System.Text;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints;

public sealed class ModelCheckpointTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(AttentionKind.Softmax, false)]
    [InlineData(AttentionKind.Differential, false)]
    [InlineData(AttentionKind.DifferentialV2, true)]
    public void SaveThenLoadGivesTheSameModel(AttentionKind kind, bool tied)
    {
        manual_seed(5);
        var config = Build.TinyConfig(kind) with { TieEmbeddings = tied, NumKvHeads = 1, RopeTheta = 5000, NormEps = 1e-6 };
        using var model = new DiffTransformerLM(config);
        string directory = Path.Combine(temp.Path, "ckpt");
        ModelCheckpoint.Save(model, directory, new Dictionary<string, string> { ["tokenizer"] = "bytes" });

        Assert.Equal(new[] { "config.json", "model.safetensors" }, Directory.GetFiles(directory).Select(Path.GetFileName).Order());
        Assert.Equal(config, ModelCheckpoint.ReadConfig(directory));
        Assert.Equal("bytes", ModelCheckpoint.ReadMetadata(directory)["tokenizer"]);
        using var loaded = ModelCheckpoint.Load(directory);
        Assert.Equal(config, loaded.Config);
        var tokens = randint(0, config.VocabSize, new long[] { 2, 9 });
        using (no_grad()) Assert.True(Bits.Same(model.forward(tokens), loaded.forward(tokens)));
    }

    private const string FormatOneConfig = """
        {
          "model_type": "difftransformer",
          "format_version": 1,
          "attention": "differential_v2",
          "vocab_size": 16,
          "embed_dim": 32,
          "num_layers": 2,
          "num_heads": 2,
          "num_kv_heads": 1,
          "head_dim": 8,
          "ffn_hidden_dim": null,
          "max_sequence_length": 64,
          "rope_theta": 500000,
          "norm_eps": 1E-06,
          "tie_embeddings": true,
          "kernel": "naive",
          "metadata": {
            "a": "x",
            "tokenizer": "bytes"
          }
        }
        """;

    [Fact]
    public void ConfigJsonKeepsFormatOne()
    {
        var config = Build.TinyConfig(AttentionKind.DifferentialV2) with
        {
            NumKvHeads = 1, HeadDim = 8, RopeTheta = 5e5, NormEps = 1e-6, TieEmbeddings = true, Kernel = AttentionKernel.Naive,
        };
        using var model = new DiffTransformerLM(config);
        string saved = Path.Combine(temp.Path, "saved");
        ModelCheckpoint.Save(model, saved, new Dictionary<string, string> { ["tokenizer"] = "bytes", ["a"] = "x" });
        // Keys added since format 1 come after its keys, with their defaults; a format 1 file without them still loads.
        string written = FormatOneConfig.Replace("""
              "kernel": "naive",
            """, """
              "kernel": "naive",
              "rope_scaling": null,
              "attention_bias": false,
              "ffn_bias": false,
              "head_norm_eps": 1E-05,
            """);
        Assert.Equal(written, File.ReadAllText(Path.Combine(saved, "config.json")).ReplaceLineEndings("\n"));

        // A file written before the config was serialized through System.Text.Json reads back the same.
        string old = Path.Combine(temp.Path, "old");
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, "config.json"), FormatOneConfig);
        Assert.Equal(config, ModelCheckpoint.ReadConfig(old));
        Assert.Equal(new Dictionary<string, string> { ["a"] = "x", ["tokenizer"] = "bytes" }, ModelCheckpoint.ReadMetadata(old));
    }

    [Fact]
    public void Float64ModelsLoadBackInFloat64()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        model.to(ScalarType.Float64);
        string directory = Path.Combine(temp.Path, "f64");
        ModelCheckpoint.Save(model, directory);
        using var loaded = ModelCheckpoint.Load(directory);
        foreach (var (key, value) in loaded.state_dict())
        {
            Assert.Equal(ScalarType.Float64, value.dtype);
            Assert.True(Bits.Same(value, model.state_dict()[key]), key);
        }
    }

    [Fact]
    public void LoadWeightsRefusesAModelOfAnotherConfiguration()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        string directory = Path.Combine(temp.Path, "c");
        ModelCheckpoint.Save(model, directory);
        using var other = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { RopeTheta = 500 });
        var error = Assert.Throws<ArgumentException>(() => ModelCheckpoint.LoadWeights(other, directory));
        Assert.Contains("different configuration", error.Message);
        using var same = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { Kernel = AttentionKernel.Naive });
        Assert.True(ModelCheckpoint.LoadWeights(same, directory).IsExact); // the kernel is a run-time choice
    }

    [Fact]
    public void CrashDuringSaveLeavesThePreviousCheckpointInPlace()
    {
        manual_seed(6);
        using var first = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var second = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        string directory = Path.Combine(temp.Path, "ckpt");
        ModelCheckpoint.Save(first, directory);
        var before = Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);

        AtomicDirectory.BeforeCommit = newDirectory =>
        {
            // The new checkpoint is complete beside the old one, which is still whole and in place.
            Assert.True(File.Exists(Path.Combine(newDirectory, "model.safetensors")));
            Assert.Equal(AttentionKind.Differential, ModelCheckpoint.ReadConfig(directory).Attention);
            throw new IOException("simulated crash");
        };
        try
        {
            Assert.Throws<IOException>(() => ModelCheckpoint.Save(second, directory));
        }
        finally
        {
            AtomicDirectory.BeforeCommit = null;
        }

        var after = Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in before) Assert.Equal(bytes, after[name]);
        Assert.Equal(new[] { "ckpt" }, temp.Entries()); // no temporary directory left behind
        using var loaded = ModelCheckpoint.Load(directory);
        Assert.Equal(AttentionKind.Differential, loaded.Config.Attention);

        ModelCheckpoint.Save(second, directory); // and a later save replaces it
        Assert.Equal(AttentionKind.Softmax, ModelCheckpoint.ReadConfig(directory).Attention);
        Assert.Equal(new[] { "ckpt" }, temp.Entries());
    }

    [Fact]
    public void FailingToDeleteThePreviousCopyDoesNotFailTheSave()
    {
        using var first = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var second = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        string directory = Path.Combine(temp.Path, "ckpt");
        ModelCheckpoint.Save(first, directory);
        AtomicDirectory.BeforeCleanup = _ => throw new IOException("simulated: the old copy cannot be deleted");
        try
        {
            ModelCheckpoint.Save(second, directory);
        }
        finally
        {
            AtomicDirectory.BeforeCleanup = null;
        }
        Assert.Equal(AttentionKind.Softmax, ModelCheckpoint.ReadConfig(directory).Attention);
        var old = Assert.Single(temp.Entries(), e => e.StartsWith(".ckpt.old-", StringComparison.Ordinal));
        Assert.Equal(AttentionKind.Differential, ModelCheckpoint.ReadConfig(Path.Combine(temp.Path, old)).Attention);
        Assert.Equal(2, temp.Entries().Length); // the checkpoint and the left-over copy, no temporary directory
    }

    [Fact]
    public void SaveRefusesToReplaceADirectoryWithForeignFiles()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        string directory = Path.Combine(temp.Path, "mine");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "keep me");
        var error = Assert.Throws<ArgumentException>(() => ModelCheckpoint.Save(model, directory));
        Assert.Equal("directory", error.ParamName);
        Assert.Contains("notes.txt", error.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(directory, "notes.txt")));
    }

    [Fact]
    public void MissingDirectoryOrFileIsReportedClearly()
    {
        string directory = Path.Combine(temp.Path, "absent");
        Assert.Throws<DirectoryNotFoundException>(() => ModelCheckpoint.Load(directory));
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        ModelCheckpoint.Save(model, directory);
        File.Delete(Path.Combine(directory, "model.safetensors"));
        var error = Assert.Throws<FileNotFoundException>(() => ModelCheckpoint.Load(directory));
        Assert.Contains("model.safetensors", error.Message);
    }

    [Fact]
    public void WeightsThatDoNotFitTheConfigAreRefusedWithEveryKey()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        string directory = Path.Combine(temp.Path, "c");
        ModelCheckpoint.Save(model, directory);
        var state = model.state_dict();
        state.Remove("norm.weight");
        Safetensors.Save(Path.Combine(directory, "model.safetensors"), state.Where(p => p.Key != "lm_head.weight")
            .Append(KeyValuePair.Create("lm_head.weight", zeros(3, 3))));
        var error = Assert.Throws<CheckpointMismatchException>(() => ModelCheckpoint.Load(directory));
        Assert.Equal(new[] { "norm.weight" }, error.Report.Missing);
        Assert.Equal("lm_head.weight", Assert.Single(error.Report.Mismatched).Key);
    }

    [Theory]
    [InlineData("{ not json", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("REMOVE:vocab_size", "missing keys [vocab_size]")]
    [InlineData("ADD:dropout", "unknown keys [dropout]")]
    [InlineData("SET:attention=\"flash\"", "'attention' must be one of")]
    [InlineData("SET:embed_dim=\"wide\"", "'embed_dim' must be an integer")]
    [InlineData("SET:num_heads=3", "invalid model")]
    [InlineData("SET:format_version=2", "format_version 2")]
    [InlineData("SET:model_type=\"llama\"", "model_type")]
    [InlineData("SET:rope_theta=\"high\"", "'rope_theta' must be a number")]
    [InlineData("SET:tie_embeddings=1", "'tie_embeddings' must be true or false")]
    [InlineData("SET:metadata=[]", "'metadata' must be an object of strings; got []")]
    [InlineData("SET:metadata={\"tokenizer\":7}", "'metadata' must be an object of strings; got {\"tokenizer\":7}")]
    [InlineData("SET:metadata={\"tokenizer\":null}", "'metadata' must be an object of strings; got {\"tokenizer\":null}")]
    [InlineData("SET:attention=\"Softmax\"", "'attention' must be one of softmax, differential, differential_v2; got \"Softmax\"")]
    [InlineData("SET:kernel=1", "'kernel' must be one of auto, naive, fused; got 1")]
    [InlineData("SET:num_kv_heads=\"two\"", "'num_kv_heads' must be an integer or null; got \"two\"")]
    [InlineData("SET:model_type=null", "'model_type' must be a string; got null")]
    [InlineData("TWICE:kernel", "(each key once)")]
    [InlineData("SET:metadata={\"tokenizer\":\"NOT_UTF8\"}", "not valid UTF-8")]
    public void DamagedConfigIsRejected(string change, string expected)
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        string directory = Path.Combine(temp.Path, "c");
        ModelCheckpoint.Save(model, directory);
        string path = Path.Combine(directory, "config.json");
        byte[] changed = Encoding.UTF8.GetBytes(Change(File.ReadAllText(path), change));
        // NOT_UTF8 stands for two bytes that are not UTF-8 (a .NET string cannot hold them).
        int at = changed.AsSpan().IndexOf("NOT_UTF8"u8);
        if (at >= 0) changed = [.. changed[..at], 0xFF, 0xFE, .. changed[(at + 8)..]];
        File.WriteAllBytes(path, changed);
        var error = Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Load(directory));
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    private static string Change(string json, string change)
    {
        if (!change.Contains(':')) return change;
        var node = JsonNode.Parse(json)!.AsObject();
        string[] parts = change.Split(':', 2);
        switch (parts[0])
        {
            case "REMOVE": node.Remove(parts[1]); break;
            case "ADD": node[parts[1]] = 0.1; break;
            case "TWICE": return node.ToJsonString()[..^1] + $",\"{parts[1]}\":{node[parts[1]]!.ToJsonString()}}}";
            default:
                string[] assignment = parts[1].Split('=', 2);
                node[assignment[0]] = JsonNode.Parse(assignment[1]);
                break;
        }
        return node.ToJsonString();
    }
}
