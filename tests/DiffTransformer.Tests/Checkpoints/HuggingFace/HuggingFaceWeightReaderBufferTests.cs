using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>The reader puts the file's bytes straight into tensor memory: no managed buffer per tensor, any size.</summary>
public sealed class HuggingFaceWeightReaderBufferTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void ReadingIntoTensorsAllocatesNoManagedBuffer()
    {
        manual_seed(11);
        string dir = temp.File("big");
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        // 8 MiB of float32 and 4 MiB of bf16: TorchSharp's ReadBytesFromStream would allocate a 4 MiB array for each.
        var stored = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(2048, 1024),
            ["bf16"] = randn(2048, 1024).to(ScalarType.BFloat16),
            ["norm"] = randn(1024),
        };
        Safetensors.Save(Path.Combine(dir, "model.safetensors"), stored);
        var index = HuggingFaceWeightIndex.Open(dir);
        Dictionary<string, Tensor> Destinations(ScalarType bf16As) => new()
        {
            ["f32"] = zeros(2048, 1024), // the stored dtype: straight into the tensor
            ["bf16"] = zeros(new long[] { 2048, 1024 }, bf16As), // bfloat16: straight in; float32: through one staging tensor
            ["norm"] = zeros(1024),
        };
        HuggingFaceWeightReader.ReadInto(index, Destinations(ScalarType.BFloat16)); // first call: JIT and type loading

        foreach (var bf16As in new[] { ScalarType.BFloat16, ScalarType.Float32 })
        {
            var destinations = Destinations(bf16As);
            long before = GC.GetAllocatedBytesForCurrentThread();
            HuggingFaceWeightReader.ReadInto(index, destinations);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 256 * 1024, $"{bf16As}: {allocated} managed bytes allocated while reading 12 MiB");
            foreach (var (name, tensor) in stored)
                Assert.True(Bits.Same(name == "bf16" ? tensor.to(bf16As) : tensor, destinations[name]), name);
        }
    }

    [Fact]
    public void TensorsLargerThanOneSpanAreReadInParts()
    {
        manual_seed(12);
        using var scope = NewDisposeScope();
        var source = randn(37, 11);
        byte[] bytes = source.bytes.ToArray();
        foreach (long partBytes in new long[] { 4, 40, 44, 1000, bytes.Length, 1L << 30 })
        {
            var read = zeros(37, 11);
            using var stream = new MemoryStream(bytes);
            TensorBytes.Read(stream, read, partBytes);
            Assert.True(Bits.Same(source, read), $"parts of {partBytes} bytes");
            Assert.Equal(bytes.Length, stream.Position);
        }
        using var shortStream = new MemoryStream(bytes, 0, bytes.Length - 1);
        Assert.Throws<EndOfStreamException>(() => TensorBytes.Read(shortStream, zeros(37, 11), 40));
    }
}
