using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// The requests one serving thread makes in <see cref="ConcurrentInferenceTests"/>, run alike sequentially (no barrier)
/// and from many threads (meeting at a barrier before every request and after every streamed token). Prompt lengths
/// differ from thread to thread and within batches.
/// </summary>
internal static class ServingRequests
{
    public const int Threads = 8;
    public const int StreamedTokens = 8;
    static readonly int[] Lengths = { 1, 9, 3, 17, 6, 12, 2, 24 };

    public static long[] Prompt(int i) => Decoding.RandomTokens(Lengths[i % Threads], 100 + i);

    /// <summary>What a thread's requests returned: logits (owned) and every generated token, as text.</summary>
    public sealed class Results : IDisposable
    {
        public List<Tensor> Logits { get; } = new();
        public List<string> Tokens { get; } = new();

        public void Dispose()
        {
            foreach (var t in Logits) t.Dispose();
        }

        /// <summary>Throws unless <paramref name="actual"/> has the same tokens and bitwise the same logits.</summary>
        public void AssertSameAs(Results actual, string who)
        {
            Assert.Equal(Tokens, actual.Tokens);
            Assert.Equal(Logits.Count, actual.Logits.Count);
            for (int i = 0; i < Logits.Count; i++)
                Assert.True(Bits.Same(Logits[i], actual.Logits[i]), $"{who}: logits {i} differ from the sequential run.");
        }
    }

    /// <summary>Thread <paramref name="i"/>'s requests on <paramref name="model"/>.</summary>
    public static Results Run(DiffTransformerLM model, int i, Barrier? barrier)
    {
        var results = new Results();
        try
        {
            var own = Prompt(i);
            var other = Prompt(i + 3);

            Meet(barrier);
            results.Logits.Add(PaddedForward(model, own, other));

            Meet(barrier);
            var greedy = model.Generate(new[] { own, Prompt(i + 1) }, new GenerationOptions { MaxNewTokens = 8, StopTokens = new long[] { 3 } });
            results.Tokens.AddRange(greedy.Select(s => $"greedy {s}"));

            Meet(barrier);
            var sampling = new GenerationOptions { MaxNewTokens = 8, Temperature = 0.9, TopK = 6, TopP = 0.9, RepetitionPenalty = 1.2, Seed = 1000 + i };
            results.Tokens.Add($"sampled {model.Generate(own, sampling)}");

            Meet(barrier);
            // Every thread's stream is open at once, and the streams take their steps in lockstep.
            foreach (var token in model.GenerateStream(own, new GenerationOptions { MaxNewTokens = StreamedTokens }))
            {
                results.Tokens.Add($"stream {token}");
                Meet(barrier);
            }

            Meet(barrier);
            var async = model.GenerateStreamAsync(new[] { own, Prompt(i + 2) }, sampling with { MaxNewTokens = 6, Seed = 2000 + i });
            results.Tokens.AddRange(async.ToBlockingEnumerable().Select(t => $"async {t}"));

            Meet(barrier);
            results.Logits.Add(CachedLoop(model, other, steps: 4));
            return results;
        }
        catch
        {
            results.Dispose();
            throw;
        }
    }

    static void Meet(Barrier? barrier)
    {
        if (barrier is not null) Workers.Meet(barrier);
    }

    /// <summary><c>forward</c> under no_grad of two prompts left-padded into one batch.</summary>
    static Tensor PaddedForward(DiffTransformerLM model, long[] a, long[] b)
    {
        int time = Math.Max(a.Length, b.Length);
        var tokens = new long[2 * time];
        var mask = new long[2 * time];
        for (int row = 0; row < 2; row++)
        {
            var prompt = row == 0 ? a : b;
            for (int t = 0; t < prompt.Length; t++)
            {
                tokens[row * time + time - prompt.Length + t] = prompt[t];
                mask[row * time + time - prompt.Length + t] = 1;
            }
        }
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.forward(tensor(tokens, new long[] { 2, time }), null, tensor(mask, new long[] { 2, time })).DetachFromDisposeScope();
    }

    /// <summary>A hand-written greedy loop of <c>forward</c> calls under no_grad with a private cache; the last logits.</summary>
    static Tensor CachedLoop(DiffTransformerLM model, long[] prompt, int steps)
    {
        using var cache = model.CreateCache();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var logits = model.forward(tensor(prompt).unsqueeze(0), cache);
        for (int s = 0; s < steps; s++)
            logits = model.forward(logits.select(1, -1).argmax(-1).unsqueeze(1), cache);
        return logits.DetachFromDisposeScope();
    }
}
