using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Run where a GPU is present; skip themselves elsewhere.</summary>
public class CudaTests
{
    [Theory]
    [InlineData("v1_gqa", AttentionKernel.Fused)]
    [InlineData("v1_mha", AttentionKernel.Naive)]
    [InlineData("v2_gqa", AttentionKernel.Fused)]
    [InlineData("baseline_mha", AttentionKernel.Fused)]
    public void GoldenParityOnCuda(string name, AttentionKernel kernel)
    {
        Cuda.Require();
        using var golden = Golden.Load(name);
        using var scope = NewDisposeScope();
        var module = golden.CreateModule(kernel, ScalarType.Float32);
        module.to(CUDA);
        var x = golden.Tensors["input.x"].to(ScalarType.Float32).to(CUDA).requires_grad_(true);
        var y = module.call(x);
        Assert.Equal(DeviceType.CUDA, y.device_type);
        (y * golden.Tensors["grad.output_weight"].to(ScalarType.Float32).to(CUDA)).sum().backward();
        Compare.Close(y, golden.Tensors["output.y"], 1e-4, "output");
        Compare.Close(x.grad!, golden.Tensors["grad.x"], 1e-4, "grad.x");
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void ModelTrainsAndDecodesOnCudaInBFloat16(AttentionKind kind)
    {
        Cuda.Require();
        using var scope = NewDisposeScope();
        var model = new DiffTransformerLM(Build.TinyConfig(kind));
        model.to(CUDA).to(ScalarType.BFloat16);
        var tokens = tensor(new long[] { 1, 2, 3, 4 }).unsqueeze(0).to(CUDA);
        var loss = model.Loss(tokens, tokens);
        loss.backward();
        Assert.Equal(DeviceType.CUDA, loss.device_type);
        using var cache = model.CreateCache();
        var logits = model.forward(tokens, cache);
        Assert.Equal(DeviceType.CUDA, logits.device_type);
        Assert.False(logits.isnan().any().item<bool>());
    }
}
