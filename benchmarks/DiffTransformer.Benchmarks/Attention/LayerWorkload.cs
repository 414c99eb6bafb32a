using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>What one timed call of a layer does.</summary>
public enum LayerPass
{
    /// <summary>Inference: one forward call under <c>no_grad</c>.</summary>
    Forward,

    /// <summary>Training: forward with gradients, then backward into the input and every parameter.</summary>
    ForwardBackward,
}

/// <summary>
/// One attention layer with its input <c>[batch, time, 512]</c> and output gradient, ready to run a pass. Owns its tensors.
/// </summary>
public sealed class LayerWorkload : IDisposable
{
    private readonly CausalSelfAttention layer;
    private readonly Tensor input;
    private readonly Tensor outputGradient;

    /// <summary>Builds the layer (fixed seed) and its data on <paramref name="device"/>.</summary>
    public LayerWorkload(LayerVariant variant, AttentionKernel kernel, long time, long batch = 1, Device? device = null)
    {
        device ??= CPU;
        Variant = variant;
        Kernel = kernel;
        Time = time;
        manual_seed(1234);
        layer = LayerVariants.Create(variant, kernel);
        layer.to(device);
        input = randn(batch, time, LayerVariants.EmbedDim, device: device).requires_grad_(true);
        outputGradient = randn(batch, time, LayerVariants.EmbedDim, device: device);
        Device = device;
    }

    /// <summary>The layer variant.</summary>
    public LayerVariant Variant { get; }

    /// <summary>The attention kernel.</summary>
    public AttentionKernel Kernel { get; }

    /// <summary>Sequence length.</summary>
    public long Time { get; }

    /// <summary>Where the layer and data live.</summary>
    public Device Device { get; }

    /// <summary>Parameter count of the layer.</summary>
    public long Parameters => LayerVariants.ParameterCount(layer);

    /// <summary>Runs one pass and waits for the device to finish.</summary>
    public void Run(LayerPass pass)
    {
        using var scope = NewDisposeScope();
        if (pass == LayerPass.Forward)
        {
            using var noGrad = no_grad();
            layer.call(input);
        }
        else
        {
            var output = layer.call(input);
            output.backward(new[] { outputGradient });
            // Gradients would otherwise accumulate across calls (an extra add per tensor, not part of a step).
            input.grad?.Dispose();
            input.grad = null;
            layer.zero_grad();
        }
        if (Device.type == DeviceType.CUDA) cuda.synchronize(Device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        layer.Dispose();
        input.Dispose();
        outputGradient.Dispose();
    }
}
