using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints;

/// <summary>Round trips and every kind of damaged or lying file the reader must reject before allocating tensors.</summary>
public sealed class SafetensorsFormatTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void EveryDtypeRoundTripsBitExactly()
    {
        manual_seed(3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = randn(3, 5, dtype: ScalarType.Float64),
            ["f32"] = randn(4, 2, 3),
            ["bf16"] = randn(7, dtype: ScalarType.BFloat16),
            ["f16"] = randn(2, 2, dtype: ScalarType.Float16),
            ["i64"] = randint(-1000, 1000, new long[] { 6 }, dtype: ScalarType.Int64),
            ["i32"] = randint(-1000, 1000, new long[] { 2, 3 }, dtype: ScalarType.Int32),
            ["u8"] = randint(0, 255, new long[] { 9 }, dtype: ScalarType.Byte),
            ["bool"] = rand(5) > 0.5,
            ["scalar"] = tensor(1.5f),
            ["empty"] = zeros(0, 4),
            ["strided"] = randn(4, 6).t(), // not contiguous
        };
        string path = temp.File("all.safetensors");
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["note"] = "hi" });

        var loaded = Safetensors.Load(path);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(expected.dtype, loaded[name].dtype);
            Assert.Equal(expected.shape, loaded[name].shape);
            Assert.True(Bits.Same(expected, loaded[name]), $"{name} changed in the round trip");
        }
        Assert.Equal("hi", Safetensors.ReadHeader(path).Metadata["note"]);
        var header = Safetensors.ReadHeader(path);
        Assert.Equal(0, header.DataStart % 8); // data section 8-byte aligned
        foreach (var entry in header.Entries) // and every tensor aligned to its element size, as the reference writer does
            Assert.True(entry.Begin % tensors[entry.Name].ElementSize == 0, $"{entry.Name} starts at {entry.Begin}");
        Assert.Equal(new[] { "i64", "f64" }, header.Entries.Take(2).Select(e => e.Name));
    }

    [Fact]
    public void EmptyTensorsAmongManyOthersReadBack()
    {
        // Empty tensors share their offset with the next tensor; the reader must order them first (regression test).
        var tensors = Enumerable.Range(0, 60).ToDictionary(i => $"t{i:D2}", i => i % 2 == 0 ? zeros(0, 3) : full(i, (float)i));
        string path = temp.File("empties.safetensors");
        Safetensors.Save(path, tensors);
        var loaded = Safetensors.Load(path);
        foreach (var (name, expected) in tensors) Assert.True(Bits.Same(expected, loaded[name]), name);
    }

    [Fact]
    public void LoadWithFilterReadsOnlyTheChosenTensors()
    {
        string path = temp.File("two.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = ones(2), ["b"] = zeros(3) });
        var loaded = Safetensors.Load(path, name => name == "b");
        Assert.Equal(new[] { "b" }, loaded.Keys);
    }

    [Fact]
    public void TruncatedFilesAreRejectedAtEveryLength()
    {
        string path = temp.File("good.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = arange(10, dtype: ScalarType.Float32) });
        byte[] bytes = File.ReadAllBytes(path);
        for (int length = 0; length < bytes.Length; length++)
        {
            string cut = temp.File($"cut{length}.safetensors");
            File.WriteAllBytes(cut, bytes[..length]);
            var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(cut));
            Assert.Contains(cut, error.Message);
        }
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", "not valid JSON")]
    [InlineData("[1,2,3]", "not a JSON object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", "unsupported dtype 'Q4'")]
    [InlineData("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "no string 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "no array 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "no array 'data_offsets'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", "non-integer")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "negative dimension")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", "two data_offsets")]
    [InlineData("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", "needs 16 bytes")] // wrong dtype for the bytes
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "needs 12 bytes")] // shape lies
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", "outside the 8-byte data section")] // offsets past the end
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "outside")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "starts at data offset 4, expected 0")] // hole
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "overlap or hole")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "cover 4 data bytes but the file holds 8")] // trailing bytes
    [InlineData("{\"__metadata__\":{\"k\":1},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "metadata 'k' is not a string")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", "absurd shape")]
    public void LyingOrMalformedHeadersAreRejected(string json, string expected)
    {
        string path = Craft(json, new byte[8]);
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void InvalidUtf8HeaderIsRejected()
    {
        string path = temp.File("utf8.safetensors");
        // Well-formed JSON but for the two bytes inside a metadata string, which are not UTF-8.
        byte[] header = Encoding.ASCII.GetBytes("{\"__metadata__\":{\"a\":\"xx\"}}");
        int at = Array.IndexOf(header, (byte)'x');
        (header[at], header[at + 1]) = (0xFF, 0xFE);
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)header.Length).Concat(header).ToArray());
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("UTF-8", error.Message);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 40)]
    [InlineData(200)] // a few bytes more than the file holds
    public void HeaderSizeBeyondTheFileIsRejectedWithoutAllocatingIt(ulong claimed)
    {
        string path = Craft("{}", Array.Empty<byte>(), headerSize: claimed);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("header claims", error.Message);
        Assert.True(allocated < 1 << 20, $"rejecting the file allocated {allocated} bytes");
    }

    [Fact]
    public void HugeTensorClaimInASmallFileIsRejectedBeforeAllocation()
    {
        // 2^38 float32 values (1 TiB) claimed by a file of a few hundred bytes.
        string path = Craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[274877906944],\"data_offsets\":[0,1099511627776]}}", new byte[8]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("outside the 8-byte data section", error.Message);
    }

    [Fact]
    public void FailedSaveLeavesTheOldFileAndNoTemporaryFile()
    {
        string path = temp.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = ones(3) });
        byte[] before = File.ReadAllBytes(path);
        AtomicFile.BeforeCommit = tempPath =>
        {
            Assert.True(File.Exists(tempPath));
            Assert.Equal(before, File.ReadAllBytes(path)); // the target is untouched while the new file is complete
            throw new IOException("simulated crash");
        };
        try
        {
            Assert.Throws<IOException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = zeros(1000) }));
        }
        finally
        {
            AtomicFile.BeforeCommit = null;
        }
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "w.safetensors" }, temp.Entries());
    }

    [Fact]
    public void SaveRejectsDuplicateOrReservedNames()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Safetensors.Save(temp.File("x.safetensors"), new[] { KeyValuePair.Create("__metadata__", ones(1)) }));
        Assert.Equal("tensors", error.ParamName);
        Assert.Contains("'__metadata__'", error.Message);
        Assert.Empty(temp.Entries());

        var twice = Assert.Throws<ArgumentException>(() => Safetensors.Save(temp.File("x.safetensors"),
            new[] { KeyValuePair.Create("w", ones(1)), KeyValuePair.Create("w", zeros(2)) }));
        Assert.Equal("tensors", twice.ParamName);
        Assert.Contains("got 'w' twice", twice.Message);
        Assert.Empty(temp.Entries());
    }

    [Fact]
    public void SaveRejectsADTypeSafetensorsCannotStore()
    {
        var error = Assert.Throws<ArgumentException>(() => Safetensors.Save(temp.File("x.safetensors"),
            new[] { KeyValuePair.Create("w", ones(1)), KeyValuePair.Create("z", zeros(2, dtype: ScalarType.ComplexFloat32)) }));
        Assert.Equal("tensors", error.ParamName);
        Assert.Contains("'z' has dtype ComplexFloat32", error.Message);
        Assert.Empty(temp.Entries());
    }

    [Fact]
    public void LoadingManySmallTensorsAllocatesLittle()
    {
        // Fuzz finding (fuzz/findings/safetensors/many-small-tensors.safetensors): the data of each tensor was read
        // through a fresh 4 MiB buffer, so 32 one-byte tensors allocated 128 MiB (a 6.7 KB checkpoint, 71 MB).
        string path = temp.File("many.safetensors");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fuzz", "findings", "safetensors", "many-small-tensors.safetensors"), path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var tensors = Safetensors.Load(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(32, tensors.Count);
        foreach (var t in tensors.Values) t.Dispose();
        Assert.True(allocated < 4 << 20, $"loading 32 one-byte tensors allocated {allocated} managed bytes");
    }

    private string Craft(string json, byte[] data, ulong? headerSize = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        string path = temp.File(Guid.NewGuid().ToString("N") + ".safetensors");
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes(headerSize ?? (ulong)header.Length));
        stream.Write(header);
        stream.Write(data);
        return path;
    }
}
