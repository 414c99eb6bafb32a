using System.Text.Json.Nodes;
using DiffTransformer.Tests.Checkpoints.HuggingFace;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.HuggingFace;

/// <summary>
/// Every bad-input rule of <see cref="HuggingFaceCheckpoint"/>, through its public entry points: a clear exception that
/// names the file, the key and the value; nothing returned half-loaded (no tensor of the abandoned model stays alive);
/// a refused or failed save leaves the directory as it was.
/// </summary>
public sealed class HuggingFaceBadInputTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private string Copy(string name) => HuggingFaceFixtures.CopyTo(name, temp.File(name));

    private static T LoadFails<T>(string directory) where T : Exception
    {
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var error = Assert.Throws<T>(() => HuggingFaceCheckpoint.Load(directory));
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount); // the half-built model was disposed
        return error;
    }

    private static void EditConfig(string directory, Action<JsonObject> edit)
    {
        string path = Path.Combine(directory, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public void AMissingDirectoryOrConfigIsNamed()
    {
        string missing = temp.File("nothing-here");
        Assert.Contains(missing, LoadFails<FileNotFoundException>(missing).Message);
        string directory = Copy("llama_mha");
        File.Delete(Path.Combine(directory, "config.json"));
        var error = LoadFails<FileNotFoundException>(directory);
        Assert.Contains("config.json", error.Message);
        Assert.Contains(directory, error.Message);
    }

    [Theory]
    [InlineData("model_type", "\"mistral\"", "mistral")]
    [InlineData("hidden_act", "\"gelu\"", "gelu")]
    [InlineData("rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}", "yarn")]
    [InlineData("sliding_window", "4096", "4096")]
    [InlineData("num_key_value_heads", "3", "3")]
    public void AConfigThatWouldChangeTheMathIsRefusedNamingTheFieldAndValue(string field, string json, string value)
    {
        string directory = Copy(field == "num_key_value_heads" ? "diffllama_mha" : "llama_mha");
        EditConfig(directory, c => c[field] = JsonNode.Parse(json));
        var error = LoadFails<InvalidDataException>(directory);
        Assert.Contains("config.json", error.Message);
        Assert.Contains(field, error.Message);
        Assert.Contains(value, error.Message);
    }

    [Fact]
    public void AMissingShardIsNamed()
    {
        string directory = Copy("diffllama_gqa_tied_sharded");
        File.Delete(Path.Combine(directory, "model-00002-of-00002.safetensors"));
        var error = LoadFails<InvalidDataException>(directory);
        Assert.Contains("model-00002-of-00002.safetensors", error.Message);
    }

    [Fact]
    public void ATensorTheIndexPlacesInAShardThatLacksItIsNamed()
    {
        string directory = Copy("diffllama_gqa_tied_sharded");
        string index = Path.Combine(directory, "model.safetensors.index.json");
        var json = JsonNode.Parse(File.ReadAllText(index))!.AsObject();
        var map = json["weight_map"]!.AsObject();
        string moved = map.First(p => p.Value!.GetValue<string>() == "model-00002-of-00002.safetensors").Key;
        map[moved] = "model-00001-of-00002.safetensors";
        File.WriteAllText(index, json.ToJsonString());
        var error = LoadFails<InvalidDataException>(directory);
        Assert.Contains(moved, error.Message);
        Assert.Contains("model-00001-of-00002.safetensors", error.Message);
    }

    [Fact]
    public void ShapeMismatchesMissingAndUnexpectedTensorsAreReportedAtOnce()
    {
        string directory = Copy("llama_mha");
        string weights = Path.Combine(directory, "model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors.Remove("model.norm.weight", out var removed);
        removed!.Dispose();
        tensors["model.layers.0.self_attn.q_proj.weight"] = zeros(3, 32);
        tensors["model.extra.weight"] = zeros(2);
        File.Delete(weights);
        Safetensors.Save(weights, tensors);
        var error = LoadFails<CheckpointMismatchException>(directory);
        Assert.Contains("model.norm.weight", error.Message);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", error.Message);
        Assert.Contains("[3, 32]", error.Message);
        Assert.Contains("model.extra.weight", error.Message);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void AnIntegerTensorWhereAWeightBelongsIsRefused()
    {
        string directory = Copy("llama_mha");
        string weights = Path.Combine(directory, "model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors["model.norm.weight"] = zeros(new long[] { 32 }, ScalarType.Int64);
        File.Delete(weights);
        Safetensors.Save(weights, tensors);
        var error = Assert.ThrowsAny<Exception>(() => HuggingFaceCheckpoint.Load(directory));
        Assert.True(error is InvalidDataException or CheckpointMismatchException, error.GetType().Name);
        Assert.Contains("model.norm.weight", error.Message);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("lying")]
    public void TruncatedOrLyingSafetensorsHeadersAreRefusedNamingTheFile(string damage)
    {
        string directory = Copy("llama_mha");
        string weights = Path.Combine(directory, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(weights);
        if (damage == "truncated") bytes = bytes[..100];
        else BitConverter.GetBytes((ulong)bytes.Length * 4).CopyTo(bytes, 0); // a header longer than the file
        File.WriteAllBytes(weights, bytes);
        var error = LoadFails<InvalidDataException>(directory);
        Assert.Contains("model.safetensors", error.Message);
    }

    [Fact]
    public void V2HasNoHuggingFaceEquivalentAndNothingIsWritten()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.DifferentialV2));
        string target = temp.File("v2");
        var error = Assert.Throws<ArgumentException>(() => HuggingFaceCheckpoint.Save(model, target));
        Assert.Equal("model", error.ParamName);
        Assert.Contains("V2", error.Message);
        Assert.False(Directory.Exists(target));
        Assert.Empty(temp.Entries());
    }

    [Fact]
    public void AV1ModelDiffLlamaCannotExpressIsRefusedBeforeAnyWrite()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { NormEps = 1e-6 });
        var error = Assert.Throws<ArgumentException>(() => HuggingFaceCheckpoint.Save(model, temp.File("v1")));
        Assert.Contains("HeadNormEps 1E-05", error.Message);
        Assert.Contains("NormEps 1E-06", error.Message);
        Assert.Empty(temp.Entries());
    }

    [Fact]
    public void AFailedSaveLeavesTheDirectoryAsItWas()
    {
        string directory = Copy("llama_mha");
        var before = Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        AtomicDirectory.BeforeCommit = _ => throw new IOException("simulated crash before the swap");
        try
        {
            Assert.Throws<IOException>(() => HuggingFaceCheckpoint.Save(model, directory));
        }
        finally
        {
            AtomicDirectory.BeforeCommit = null;
        }
        var after = Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, after[file]);
        Assert.Equal(new[] { "llama_mha" }, temp.Entries());
    }
}
