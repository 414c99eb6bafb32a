using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// A whole decoder's training step (forward, next-token loss, backward, AdamW step) on random tokens, float32 on the
/// CPU. The three attention kinds are built at (nearly) the same parameter count, see <see cref="Config"/>.
/// </summary>
public sealed class TrainingWorkload : IDisposable
{
    private readonly DiffTransformerLM model;
    private readonly optim.Optimizer optimizer;
    private readonly Tensor inputs, targets;

    /// <summary>Builds the model (fixed seed), its optimizer and a batch of random tokens.</summary>
    public TrainingWorkload(AttentionKind kind, long time, int layers, int vocab, long batch = 1, Device? device = null)
    {
        device ??= CPU;
        Kind = kind;
        Time = time;
        Batch = batch;
        Device = device;
        manual_seed(1234);
        model = new DiffTransformerLM(Config(kind, time, layers, vocab));
        model.to(device);
        optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        var tokens = randint(0, vocab, new[] { batch, time + 1 }, dtype: ScalarType.Int64, device: device);
        inputs = tokens.narrow(1, 0, time).contiguous();
        targets = tokens.narrow(1, 1, time).contiguous();
        tokens.Dispose();
    }

    /// <summary>
    /// Embed 512, head size 64 everywhere. Softmax: 8 heads. V1: 4 heads (the paper's pairing: the same parameters).
    /// V2: 8 output heads (16 query heads) and 4 KV heads, which keeps q/k/v/o at the softmax model's parameter count
    /// (V2 adds only <c>lambda_proj</c>, 4096 weights a layer).
    /// </summary>
    public static DiffTransformerConfig Config(AttentionKind kind, long time, int layers, int vocab) => new()
    {
        Attention = kind,
        VocabSize = vocab,
        EmbedDim = 512,
        NumLayers = layers,
        NumHeads = kind == AttentionKind.Differential ? 4 : 8,
        NumKvHeads = kind switch { AttentionKind.Differential => 4, AttentionKind.DifferentialV2 => 4, _ => 8 },
        HeadDim = kind == AttentionKind.DifferentialV2 ? 64 : null,
        MaxSequenceLength = (int)Math.Max(time, 2048),
        Kernel = AttentionKernel.Fused,
    };

    /// <summary>The attention kind.</summary>
    public AttentionKind Kind { get; }

    /// <summary>Tokens per sequence.</summary>
    public long Time { get; }

    /// <summary>Sequences per step.</summary>
    public long Batch { get; }

    /// <summary>Where the model lives.</summary>
    public Device Device { get; }

    /// <summary>Parameter count of the model.</summary>
    public long Parameters => LayerVariants.ParameterCount(model);

    /// <summary>One optimisation step; waits for the device to finish.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = model.Loss(inputs, targets);
        loss.backward();
        optimizer.step();
        if (Device.type == DeviceType.CUDA) cuda.synchronize(Device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
        inputs.Dispose();
        targets.Dispose();
    }
}
