using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>Writing weights and whole directories: sharding as transformers does, bit-identical round trips, atomic saves.</summary>
public sealed class HuggingFaceWeightWriterTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Cases() => new(HuggingFaceFixtures.Cases);

    /// <summary>The golden sharded case splits after layer 1's q_proj: its shard 1 holds 197376 bytes, the next tensor 8192.</summary>
    private const long GoldenShardSize = 200_000;

    [Fact]
    public void ShardPlanFollowsHuggingFaceHubSplitting()
    {
        // Walking huggingface_hub's rule by hand over sizes 6, 10, 30, 2, 2 with a maximum of 10: a closes when b
        // would tip it over; c is oversized and gets its own shard at once, while b's shard is still open; d tips b
        // over; e joins d.
        var plan = HuggingFaceShardPlanner.Plan(new[] { ("a", 6L), ("b", 10L), ("c", 30L), ("d", 2L), ("e", 2L) }, 10);
        Assert.Equal(new[] { "a" , "c", "b", "d,e" }, plan.Select(s => string.Join(",", s.Names)));
        Assert.Equal(new[] { 6L, 30, 10, 4 }, plan.Select(s => s.Bytes));
        Assert.Equal(Enumerable.Range(1, 4).Select(i => $"model-{i:D5}-of-00004.safetensors"), plan.Select(s => s.FileName));

        var single = HuggingFaceShardPlanner.Plan(new[] { ("a", 6L), ("b", 4L) }, 10); // exactly the maximum fits
        Assert.Equal(HuggingFaceWeightIndex.SingleFileName, single.Single().FileName);
        Assert.Equal(5_000_000_000, HuggingFaceShardPlanner.DefaultMaxShardSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => HuggingFaceShardPlanner.Plan(new[] { ("a", 1L) }, 0));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GoldenDirectoriesRoundTripBitForBit(string name)
    {
        string source = HuggingFaceFixtures.Directory(name);
        var index = HuggingFaceWeightIndex.Open(source);
        var storedType = index.Tensors.Values.First().StoredType;
        using var scope = NewDisposeScope();
        var tensors = HuggingFaceWeightReader.ReadAll(index, storedType);
        var ordered = HuggingFaceFixtures.ExpectedTensors(name).Select(e => KeyValuePair.Create(e.Name, tensors[e.Name])).ToList();
        var config = HuggingFaceConfigReader.Read(Path.Combine(source, "config.json"));
        var generation = HuggingFaceGenerationConfig.ReadOptional(source);
        bool sharded = index.IndexPath is not null;

        string target = temp.File(name);
        HuggingFaceDirectory.Save(target, config, generation, ordered, sharded ? GoldenShardSize : HuggingFaceShardPlanner.DefaultMaxShardSize);

        // Same weight files, byte for byte (headers, tensor order, data), and an identical index.
        var sourceFiles = Directory.GetFiles(source, "model*").Select(Path.GetFileName).Order().ToArray();
        var targetFiles = Directory.GetFiles(target, "model*").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(sourceFiles, targetFiles);
        foreach (string file in sourceFiles!)
            Assert.True(File.ReadAllBytes(Path.Combine(source, file!)).SequenceEqual(File.ReadAllBytes(Path.Combine(target, file!))), $"{file} differs");
        // And the tensors read back bit for bit, with the same shard assignment.
        var back = HuggingFaceWeightIndex.Open(target);
        foreach (var (tensorName, location) in index.Tensors)
        {
            Assert.Equal(Path.GetFileName(location.Path), Path.GetFileName(back.Tensors[tensorName].Path));
            Assert.True(Bits.Same(tensors[tensorName], HuggingFaceWeightReader.Read(back, tensorName, storedType)), tensorName);
        }
        Assert.Equal(config, HuggingFaceConfigReader.Read(Path.Combine(target, "config.json")));
        Assert.Equal(generation, HuggingFaceGenerationConfig.ReadOptional(target));
    }

    [Fact]
    public void SmallShardSizesShardInStateDictOrderWithAnIndex()
    {
        manual_seed(1);
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("z.first", randn(10)), new("a.second", randn(10)), new("m.big", randn(100)), new("b.third", randn(5)),
            new("c.half", randn(10, dtype: ScalarType.BFloat16)),
        };
        string dir = temp.File("w");
        Directory.CreateDirectory(dir);
        // Bytes 40, 40, 400, 20, 20 with a maximum of 80: z and a fill a shard; m is oversized and is placed at once,
        // before that shard closes (when b would tip it over); b and c share the last one.
        var written = HuggingFaceWeightWriter.Write(dir, tensors, maxShardSize: 80);
        Assert.Equal(new[] { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
            HuggingFaceWeightIndex.IndexFileName }, written);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, HuggingFaceWeightIndex.IndexFileName)))!;
        Assert.Equal(40 + 40 + 400 + 20 + 20, index["metadata"]!["total_size"]!.GetValue<long>());
        Assert.Equal(10 + 10 + 100 + 5 + 10, index["metadata"]!["total_parameters"]!.GetValue<long>());
        var map = index["weight_map"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
        Assert.Equal(new[] { "a.second", "b.third", "c.half", "m.big", "z.first" }, map.Keys); // sorted, as transformers writes
        Assert.Equal("model-00001-of-00003.safetensors", map["m.big"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["z.first"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["a.second"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["b.third"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["c.half"]);
        var back = HuggingFaceWeightIndex.Open(dir);
        foreach (var (name, tensor) in tensors)
            Assert.True(Bits.Same(tensor, HuggingFaceWeightReader.Read(back, name, tensor.dtype)), name);
        Assert.Equal("pt", back.Tensors["z.first"].Header.Metadata["format"]);
    }

    [Fact]
    public void SavingInAnotherDtypeConvertsEachTensorAsItIsWritten()
    {
        manual_seed(2);
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>> { new("w", randn(4, 3)), new("b", randn(3)) };
        string dir = temp.File("bf16");
        Directory.CreateDirectory(dir);
        HuggingFaceWeightWriter.Write(dir, tensors, dtype: ScalarType.BFloat16);
        var index = HuggingFaceWeightIndex.Open(dir);
        Assert.All(index.Tensors.Values, l => Assert.Equal(ScalarType.BFloat16, l.StoredType));
        foreach (var (name, tensor) in tensors)
            Assert.True(Bits.Same(tensor.to(ScalarType.BFloat16), HuggingFaceWeightReader.Read(index, name, ScalarType.BFloat16)), name);

        // A directory save in another dtype records it in config.json.
        var config = HuggingFaceConfigReader.Read(HuggingFaceFixtures.ConfigPath("llama_mha"));
        string model = temp.File("model");
        HuggingFaceDirectory.Save(model, config, null, tensors, dtype: ScalarType.Float16);
        Assert.Equal(ScalarType.Float16, HuggingFaceConfigReader.Read(Path.Combine(model, "config.json")).DType);
        Assert.All(HuggingFaceWeightIndex.Open(model).Tensors.Values, l => Assert.Equal(ScalarType.Float16, l.StoredType));
    }

    [Fact]
    public void AFailedSaveLeavesTheDirectoryAsItWas()
    {
        string source = HuggingFaceFixtures.Directory("diffllama_gqa_tied_sharded");
        var config = HuggingFaceConfigReader.Read(Path.Combine(source, "config.json"));
        using var scope = NewDisposeScope();
        var tensors = HuggingFaceWeightReader.ReadAll(HuggingFaceWeightIndex.Open(source));
        var ordered = HuggingFaceFixtures.ExpectedTensors("diffllama_gqa_tied_sharded").Select(e => KeyValuePair.Create(e.Name, tensors[e.Name])).ToList();
        string dir = temp.File("model");
        HuggingFaceDirectory.Save(dir, config, null, ordered, GoldenShardSize, extraFiles: new Dictionary<string, byte[]> { ["tokenizer.json"] = "{}"u8.ToArray() });
        var before = Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        Assert.Contains("model.safetensors.index.json", before.Keys);

        AtomicDirectory.BeforeCommit = newDirectory =>
        {
            Assert.True(File.Exists(Path.Combine(newDirectory, "model.safetensors"))); // the new, unsharded save is complete
            throw new IOException("simulated crash");
        };
        try
        {
            Assert.Throws<IOException>(() => HuggingFaceDirectory.Save(dir, config with { RmsNormEps = 1e-5 }, null, ordered,
                extraFiles: new Dictionary<string, byte[]> { ["tokenizer.json"] = "{}"u8.ToArray() }));
        }
        finally
        {
            AtomicDirectory.BeforeCommit = null;
        }
        var after = Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, after[file]);
        Assert.Equal(new[] { "model" }, temp.Entries()); // no temporary directory left

        // A successful save over it replaces the shards by one file, and foreign files block a save.
        HuggingFaceDirectory.Save(dir, config, null, ordered, extraFiles: new Dictionary<string, byte[]> { ["tokenizer.json"] = "{}"u8.ToArray() });
        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var e = Assert.Throws<ArgumentException>(() => HuggingFaceDirectory.Save(dir, config, null, ordered));
        Assert.Contains("notes.txt", e.Message);
    }
}
