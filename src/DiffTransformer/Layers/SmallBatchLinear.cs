using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// <c>x W^T + b</c> for a few rows of <c>x</c> on the CPU in float32, as cached decoding calls it: one token per
/// sequence, so each weight is read once for a handful of dot products and the call is bound by memory bandwidth.
/// LibTorch's CPU matrix-vector kernels read the 2-25 MB matrices of a 100M-parameter decoder at about 11 GB/s on the
/// development machine, a third of what a sum over the same memory reaches; this kernel reads them at 25-28 GB/s on one
/// thread (docs/benchmarks.md, "Decoding against the memory-bandwidth limit").
/// </summary>
/// <remarks>
/// The weight is read front to back, one row at a time, as a single stream that the hardware prefetcher follows; each
/// row is kept in L1 while it meets every input row. Blocking several weight rows together made several short streams
/// and halved the speed, and a second thread gained nothing: it competes with LibTorch's OpenMP workers, which keep
/// spinning after each parallel op. Every output element is one fixed-order dot product (<see cref="VectorMath.Dot"/>,
/// then the bias), so a result differs from LibTorch's in the last bits only.
/// </remarks>
internal static class SmallBatchLinear
{
    /// <summary>
    /// The most rows of <c>x</c> (tokens in the call) the kernel takes: a batched decoding step of up to this many
    /// sequences. Measured on the 85 weights of a 100M decoder: 1, 2 and 4 rows faster than <c>F.linear</c> (14-19 ms
    /// against 28-33, 15-18 against 42-53, 22-31 against 42-43), 8 rows slower (55-62 against 35-72): each row is then a
    /// dot product of its own, and the kernel turns compute-bound.
    /// </summary>
    public const int MaxRows = 4;

    /// <summary>Whether <see cref="Forward"/> computes <c>linear(x, weight, bias)</c> for these tensors.</summary>
    public static bool Applies(Tensor x, Tensor weight, Tensor? bias)
    {
        if (x.device_type != DeviceType.CPU || x.dtype != ScalarType.Float32 || x.dim() < 1) return false;
        if (weight.device_type != DeviceType.CPU || weight.dtype != ScalarType.Float32 || weight.dim() != 2 || !weight.is_contiguous()) return false;
        if (bias is not null && (bias.device_type != DeviceType.CPU || bias.dtype != ScalarType.Float32 || bias.dim() != 1 || !bias.is_contiguous())) return false;
        long inputs = weight.size(1), outputs = weight.size(0);
        if (x.size(-1) != inputs || bias is not null && bias.size(0) != outputs) return false; // F.linear reports the mismatch
        if (inputs == 0 || outputs == 0) return false;
        long rows = x.numel() / inputs;
        if (rows < 1 || rows > MaxRows) return false;
        return !is_grad_enabled() || !(x.requires_grad || weight.requires_grad || bias is { requires_grad: true });
    }

    /// <summary><c>[..., in] x [out, in] (+ [out]) -&gt; [..., out]</c>. Call only when <see cref="Applies"/> holds.</summary>
    public static unsafe Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        long inputs = weight.size(1), outputs = weight.size(0);
        var shape = x.shape;
        shape[^1] = outputs;
        using var heldWeight = TensorMemory.FirstElement(weight);
        using var heldBias = bias is null ? null : TensorMemory.FirstElement(bias);
        using var copy = x.is_contiguous() ? null : x.contiguous();
        var dense = copy ?? x;
        var result = empty(shape, ScalarType.Float32, x.device);
        int rows = (int)(dense.numel() / inputs);
        fixed (byte* w = heldWeight.bytes, input = dense.bytes, output = result.bytes)
        fixed (byte* b = heldBias is null ? default : heldBias.bytes)
            Multiply((float*)w, (float*)input, (float*)output, (float*)b, rows, inputs, outputs);
        return result;
    }

    // Compiled optimised at once: a decoding loop would otherwise run its first steps through unoptimised code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Multiply(float* weight, float* x, float* y, float* bias, int rows, long inputs, long outputs)
    {
        for (long feature = 0; feature < outputs; feature++)
        {
            float* w = weight + feature * inputs;
            float add = bias == null ? 0f : bias[feature];
            for (int row = 0; row < rows; row++)
            {
                float dot = VectorMath.Dot(w, x + row * inputs, inputs);
                y[row * outputs + feature] = bias == null ? dot : dot + add;
            }
        }
    }
}
