using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Tiny models and the uncached references generation is checked against.</summary>
internal static class Decoding
{
    /// <summary>Every attention kind with and without grouped KV heads (1 KV head).</summary>
    public static TheoryData<AttentionKind, int?> KindsAndKvHeads()
    {
        var data = new TheoryData<AttentionKind, int?>();
        foreach (var kind in Build.Kinds)
        foreach (var kv in new int?[] { null, 1 })
            data.Add(kind, kv);
        return data;
    }

    /// <summary>A seeded two-layer model (vocab 16, max length 64).</summary>
    public static DiffTransformerLM Model(AttentionKind kind, int? kvHeads = null, ScalarType dtype = ScalarType.Float64,
        AttentionKernel kernel = AttentionKernel.Auto, long seed = 5)
    {
        manual_seed(seed);
        var model = new DiffTransformerLM(Build.TinyConfig(kind) with { NumKvHeads = kvHeads, Kernel = kernel });
        model.to(dtype);
        return model;
    }

    public static long[] RandomTokens(int count, long seed, int vocab = 16)
    {
        var random = new Random((int)seed);
        return Enumerable.Range(0, count).Select(_ => (long)random.Next(vocab)).ToArray();
    }

    /// <summary>Next-token logits <c>[vocab]</c> of one sequence from a full forward without cache (float64 on the host).</summary>
    public static double[] LastLogits(DiffTransformerLM model, IReadOnlyList<long> sequence)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.call(tensor(sequence.ToArray()).unsqueeze(0));
        return logits[0, -1].to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Greedy decoding by repeated full forwards: at every step, the whole sequence runs again, the Hugging Face repetition
    /// penalty is applied to every token already in the sequence, and the argmax is taken.
    /// </summary>
    public static long[] GreedyByFullForward(DiffTransformerLM model, IReadOnlyList<long> prompt, int newTokens,
        double repetitionPenalty = 1, long? stopToken = null)
    {
        var sequence = prompt.ToList();
        var generated = new List<long>();
        for (int i = 0; i < newTokens; i++)
        {
            var logits = LastLogits(model, sequence);
            for (int v = 0; v < logits.Length; v++)
            {
                if (repetitionPenalty != 1 && sequence.Contains(v))
                    logits[v] = logits[v] < 0 ? logits[v] * repetitionPenalty : logits[v] / repetitionPenalty;
            }
            long next = Array.IndexOf(logits, logits.Max());
            generated.Add(next);
            sequence.Add(next);
            if (next == stopToken) break;
        }
        return generated.ToArray();
    }
}
