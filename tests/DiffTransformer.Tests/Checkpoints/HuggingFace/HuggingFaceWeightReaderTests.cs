using System.Text;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>Reading golden weight directories, and every damaged or inconsistent directory the reader must refuse.</summary>
public sealed class HuggingFaceWeightReaderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Cases() => new(HuggingFaceFixtures.Cases);

    [Theory]
    [MemberData(nameof(Cases))]
    public void GoldenDirectoriesHoldTheStateDictOfTheirConfig(string name)
    {
        var index = HuggingFaceWeightIndex.Open(HuggingFaceFixtures.Directory(name));
        var expected = HuggingFaceFixtures.ExpectedTensors(name);
        Assert.Equal(expected.Select(e => e.Name).Order(StringComparer.Ordinal), index.Tensors.Keys.Order(StringComparer.Ordinal));
        var storedType = name == "llama_headdim_bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        foreach (var (tensorName, shape) in expected)
        {
            Assert.Equal(shape, index.Tensors[tensorName].Shape);
            Assert.Equal(storedType, index.Tensors[tensorName].StoredType);
        }
        Assert.Equal(name == "diffllama_gqa_tied_sharded" ? 2 : 1, index.Files.Count);
        Assert.Equal(name == "diffllama_gqa_tied_sharded", index.IndexPath is not null);

        using var scope = NewDisposeScope();
        var all = HuggingFaceWeightReader.ReadAll(index, storedType);
        foreach (var path in index.Files) // the same values as the plain safetensors reader gives, bit for bit
            foreach (var (tensorName, tensor) in Safetensors.Load(path))
                Assert.True(Bits.Same(tensor, all[tensorName]), tensorName);
    }

    [Fact]
    public void Bf16ReadsExactlyAsBfloat16AndAsFloat32()
    {
        var index = HuggingFaceWeightIndex.Open(HuggingFaceFixtures.Directory("llama_headdim_bf16"));
        using var scope = NewDisposeScope();
        var stored = Safetensors.Load(index.Files.Single());
        var asBf16 = HuggingFaceWeightReader.ReadAll(index, ScalarType.BFloat16);
        var asF32 = HuggingFaceWeightReader.ReadAll(index); // float32 is the default
        foreach (var (name, raw) in stored)
        {
            Assert.True(Bits.Same(raw, asBf16[name]), name);
            Assert.Equal(ScalarType.Float32, asF32[name].dtype);
            // bfloat16 is the top half of a float32: widen the stored bits by hand and compare bit for bit.
            byte[] bits = raw.contiguous().bytes.ToArray();
            var widened = new float[bits.Length / 2];
            for (int i = 0; i < widened.Length; i++) widened[i] = BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bits, 2 * i) << 16);
            Assert.Equal(widened, asF32[name].contiguous().data<float>().ToArray());
        }
        var one = HuggingFaceWeightReader.Read(index, "model.norm.weight", ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, one.dtype);
        Assert.True(Bits.Same(stored["model.norm.weight"].to(ScalarType.Float64), one));
    }

    [Fact]
    public void Float16ReadsExactlyAsFloat32AndRoundsToBfloat16AsTorchDoes()
    {
        manual_seed(4);
        string dir = temp.File("f16");
        Directory.CreateDirectory(dir);
        var stored = randn(5, 7, dtype: ScalarType.Float16);
        Safetensors.Save(Path.Combine(dir, "model.safetensors"), new Dictionary<string, Tensor> { ["w"] = stored });
        var index = HuggingFaceWeightIndex.Open(dir);
        using var asF32 = HuggingFaceWeightReader.Read(index, "w");
        var halves = stored.contiguous().data<Half>().ToArray();
        Assert.Equal(halves.Select(h => (float)h).ToArray(), asF32.data<float>().ToArray()); // widening is exact
        using var asBf16 = HuggingFaceWeightReader.Read(index, "w", ScalarType.BFloat16);
        Assert.True(Bits.Same(stored.to(ScalarType.BFloat16), asBf16));
    }

    [Fact]
    public void ReadIntoFillsCallerTensorsOfAnyDtypeAndLayout()
    {
        var index = HuggingFaceWeightIndex.Open(HuggingFaceFixtures.Directory("diffllama_gqa_tied_sharded"));
        using var scope = NewDisposeScope();
        var reference = HuggingFaceWeightReader.ReadAll(index);
        var destinations = HuggingFaceFixtures.ExpectedTensors("diffllama_gqa_tied_sharded")
            .ToDictionary(e => e.Name, e => zeros(e.Shape, ScalarType.BFloat16));
        // A non-contiguous float32 destination (a transposed view) takes the staging path.
        var backing = zeros(64, 128);
        destinations["model.embed_tokens.weight"] = backing.t();
        // A float32 parameter (what a model hands over) takes the direct path: the file's bytes straight into it.
        var norm = new TorchSharp.Modules.Parameter(zeros(64));
        destinations["model.norm.weight"] = norm;
        HuggingFaceWeightReader.ReadInto(index, destinations);
        foreach (var (name, tensor) in destinations)
            if (name is not ("model.embed_tokens.weight" or "model.norm.weight"))
                Assert.True(Bits.Same(reference[name].to(ScalarType.BFloat16), tensor), name);
        Assert.True(Bits.Same(reference["model.embed_tokens.weight"], backing.t().contiguous()));
        Assert.True(Bits.Same(reference["model.norm.weight"], norm.detach()));
        Assert.True(norm.requires_grad);
    }

    [Fact]
    public void ReadIntoReportsEveryMismatchAtOnceAndWritesNothing()
    {
        var index = HuggingFaceWeightIndex.Open(HuggingFaceFixtures.Directory("llama_mha"));
        using var scope = NewDisposeScope();
        var destinations = HuggingFaceFixtures.ExpectedTensors("llama_mha").ToDictionary(e => e.Name, e => zeros(e.Shape));
        destinations.Remove("lm_head.weight"); // unexpected in the file
        destinations["model.norm.weight"] = zeros(33); // wrong shape
        destinations["model.extra.weight"] = zeros(2); // missing from the file
        destinations["model.layers.0.input_layernorm.weight"] = zeros(new long[] { 32 }, ScalarType.Int64); // not floating
        var e = Assert.Throws<CheckpointMismatchException>(() => HuggingFaceWeightReader.ReadInto(index, destinations));
        Assert.Equal(new[] { "lm_head.weight" }, e.Report.Unexpected);
        Assert.Equal(new[] { "model.extra.weight" }, e.Report.Missing);
        Assert.Equal(new[] { "model.layers.0.input_layernorm.weight", "model.norm.weight" }, e.Report.Mismatched.Select(m => m.Key).Order());
        Assert.Contains(index.Directory, e.Message);
        foreach (var tensor in destinations.Values) Assert.Equal(0, tensor.count_nonzero().item<long>()); // nothing written

        // A tied checkpoint's caller skips what it does not load.
        destinations = HuggingFaceFixtures.ExpectedTensors("llama_mha").Where(t => t.Name != "lm_head.weight").ToDictionary(t => t.Name, t => zeros(t.Shape));
        HuggingFaceWeightReader.ReadInto(index, destinations, skip: new HashSet<string> { "lm_head.weight" });
        Assert.NotEqual(0, destinations["model.norm.weight"].count_nonzero().item<long>());
    }

    [Fact]
    public void MissingShardIsNamedWithTheKeysThatNeedIt()
    {
        string dir = HuggingFaceFixtures.CopyTo("diffllama_gqa_tied_sharded", temp.File("m"));
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains(Path.Combine(dir, HuggingFaceWeightIndex.IndexFileName), e.Message);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("weight_map['model.layers.1.input_layernorm.weight']", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void IndexAndShardsMustAgreeOnEveryTensor()
    {
        // The index moves model.norm.weight to shard 1 (which lacks it) and forgets a tensor shard 1 holds.
        string dir = HuggingFaceFixtures.CopyTo("diffllama_gqa_tied_sharded", temp.File("m"));
        EditIndex(dir, map =>
        {
            map["model.norm.weight"] = "model-00001-of-00002.safetensors";
            map.Remove("model.layers.0.self_attn.lambda_q1");
        });
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains("weight_map['model.norm.weight'] = \"model-00001-of-00002.safetensors\"", e.Message);
        Assert.Contains("holds no tensor 'model.norm.weight'", e.Message);
        Assert.Contains("which the index places in \"model-00001-of-00002.safetensors\"", e.Message);
        Assert.Contains("holds tensor 'model.layers.0.self_attn.lambda_q1', which the index does not list", e.Message);
    }

    [Fact]
    public void ATensorInTwoShardsIsRefused()
    {
        string dir = temp.File("dup");
        Directory.CreateDirectory(dir);
        Safetensors.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(2), ["b"] = ones(3) });
        Safetensors.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), new Dictionary<string, Tensor> { ["b"] = zeros(3), ["c"] = ones(4) });
        File.WriteAllText(Path.Combine(dir, HuggingFaceWeightIndex.IndexFileName),
            "{\"metadata\": {}, \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"}}");
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains("model-00002-of-00002.safetensors' holds tensor 'b', which the index places in \"model-00001-of-00002.safetensors\" (a tensor in two shards)", e.Message);
    }

    [Theory]
    [InlineData("../model-00001-of-00002.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("model.bin")]
    [InlineData("")]
    public void IndexMayNameOnlySafetensorsFilesOfItsDirectory(string file)
    {
        string dir = HuggingFaceFixtures.CopyTo("diffllama_gqa_tied_sharded", temp.File("m"));
        EditIndex(dir, map => map["model.norm.weight"] = file);
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains("weight_map['model.norm.weight']", e.Message);
        Assert.Contains($"\"{file}\"", e.Message);
    }

    [Fact]
    public void DamagedFilesAreRefusedBeforeAnyTensorIsRead()
    {
        string dir = HuggingFaceFixtures.CopyTo("llama_mha", temp.File("m"));
        string weights = Path.Combine(dir, HuggingFaceWeightIndex.SingleFileName);
        byte[] good = File.ReadAllBytes(weights);

        File.WriteAllBytes(weights, good[..100]); // truncated inside the header
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains(weights, e.Message);

        File.WriteAllBytes(weights, good[..^4]); // truncated data
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains(weights, e.Message);
        Assert.Contains("data section", e.Message);

        // A lying size: lm_head claims 12284 bytes where its shape needs 12288 (same header length).
        string text = Encoding.ASCII.GetString(good);
        Assert.Contains("\"data_offsets\":[0,12288]", text);
        File.WriteAllBytes(weights, Encoding.ASCII.GetBytes(text.Replace("\"data_offsets\":[0,12288]", "\"data_offsets\":[0,12284]")));
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains("lm_head.weight", e.Message);

        // A lying shape in a shard.
        string sharded = HuggingFaceFixtures.CopyTo("diffllama_gqa_tied_sharded", temp.File("s"));
        string shard = Path.Combine(sharded, "model-00002-of-00002.safetensors");
        string shardText = Encoding.Latin1.GetString(File.ReadAllBytes(shard));
        File.WriteAllBytes(shard, Encoding.Latin1.GetBytes(shardText.Replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]", "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[65]")));
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(sharded));
        Assert.Contains(shard, e.Message);
        Assert.Contains("model.norm.weight", e.Message);

        string index = Path.Combine(sharded, HuggingFaceWeightIndex.IndexFileName);
        File.WriteAllText(index, "{\"weight_map\": ");
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(sharded));
        Assert.Contains(index, e.Message);
        File.WriteAllText(index, "{\"metadata\": {}}");
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(sharded));
        Assert.Contains("'weight_map'", e.Message);
    }

    [Fact]
    public void AmbiguousOrEmptyDirectoriesAreRefused()
    {
        string dir = HuggingFaceFixtures.CopyTo("diffllama_gqa_tied_sharded", temp.File("m"));
        File.Copy(Path.Combine(HuggingFaceFixtures.Directory("llama_mha"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightIndex.Open(dir));
        Assert.Contains("ambiguous", e.Message);

        string empty = temp.File("empty");
        Directory.CreateDirectory(empty);
        Assert.Throws<FileNotFoundException>(() => HuggingFaceWeightIndex.Open(empty));
        Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceWeightIndex.Open(temp.File("nowhere")));
    }

    [Fact]
    public void NonFloatingTensorsAreNotReadAsWeights()
    {
        string dir = temp.File("ints");
        Directory.CreateDirectory(dir);
        Safetensors.Save(Path.Combine(dir, "model.safetensors"), new Dictionary<string, Tensor> { ["w"] = ones(2), ["q"] = ones(new long[] { 3 }, ScalarType.Int8) });
        var index = HuggingFaceWeightIndex.Open(dir);
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceWeightReader.ReadAll(index));
        Assert.Contains("'q'", e.Message);
        Assert.Contains("I8", e.Message);
        Assert.Throws<ArgumentException>(() => HuggingFaceWeightReader.ReadAll(index, ScalarType.Int32));
    }

    private static void EditIndex(string dir, Action<JsonObject> change)
    {
        string path = Path.Combine(dir, HuggingFaceWeightIndex.IndexFileName);
        var index = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(index["weight_map"]!.AsObject());
        File.WriteAllText(path, index.ToJsonString());
    }
}
