#pragma warning disable xUnit1051 // each generation here takes milliseconds; cancellation has its own tests
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Every bad argument of generation is an ArgumentException naming the argument, the rule and the value.</summary>
public class GenerationValidationTests
{
    static readonly DiffTransformerLM Model = Decoding.Model(AttentionKind.Differential); // vocab 16, max length 64
    static readonly long[] Prompt = { 1, 2, 3 };

    public static TheoryData<string, GenerationOptions, string[]> BadOptions() => new()
    {
        { "MaxNewTokens 0", new() { MaxNewTokens = 0 }, new[] { "MaxNewTokens", ">= 1", "0" } },
        { "MaxNewTokens -3", new() { MaxNewTokens = -3 }, new[] { "MaxNewTokens", "-3" } },
        { "MinNewTokens > Max", new() { MaxNewTokens = 4, MinNewTokens = 5 }, new[] { "MinNewTokens", "[0, MaxNewTokens=4]", "5" } },
        { "MinNewTokens -1", new() { MinNewTokens = -1 }, new[] { "MinNewTokens", "-1" } },
        { "Temperature -0.5", new() { Temperature = -0.5 }, new[] { "Temperature", ">= 0", "-0.5" } },
        { "Temperature NaN", new() { Temperature = double.NaN }, new[] { "Temperature", "NaN" } },
        { "Temperature inf", new() { Temperature = double.PositiveInfinity }, new[] { "Temperature", "finite" } },
        { "TopK -1", new() { TopK = -1 }, new[] { "TopK", ">= 0", "-1" } },
        { "TopP 0", new() { TopP = 0 }, new[] { "TopP", "(0, 1]", "got 0" } },
        { "TopP 1.5", new() { TopP = 1.5 }, new[] { "TopP", "(0, 1]", "1.5" } },
        { "TopP -0.1", new() { TopP = -0.1 }, new[] { "TopP", "-0.1" } },
        { "TopP NaN", new() { TopP = double.NaN }, new[] { "TopP", "NaN" } },
        { "RepetitionPenalty 0", new() { RepetitionPenalty = 0 }, new[] { "RepetitionPenalty", "> 0", "got 0" } },
        { "RepetitionPenalty -2", new() { RepetitionPenalty = -2 }, new[] { "RepetitionPenalty", "-2" } },
        { "stop token = vocab", new() { StopTokens = new long[] { 3, 16 } }, new[] { "StopTokens[1]", "[0, 16)", "16" } },
        { "stop token -1", new() { StopTokens = new long[] { -1 } }, new[] { "StopTokens[0]", "-1" } },
        { "prompt + new > max", new() { MaxNewTokens = 62 }, new[] { "3 tokens", "MaxNewTokens (62)", "MaxSequenceLength (64)", "65" } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsAreRejectedByEveryEntryPoint(string what, GenerationOptions options, string[] fragments)
    {
        var errors = new List<ArgumentException>
        {
            Assert.ThrowsAny<ArgumentException>(() => Model.Generate(Prompt, options)),
            Assert.ThrowsAny<ArgumentException>(() => Model.GenerateStream(Prompt, options)), // eagerly, before enumeration
            Assert.ThrowsAny<ArgumentException>(() => Model.GenerateStreamAsync(Prompt, options)),
        };
        foreach (var error in errors)
            foreach (var fragment in fragments)
                Assert.True(error.Message.Contains(fragment), $"{what}: '{error.Message}' lacks '{fragment}'");
    }

    public static TheoryData<string, long[][], string[]> BadPrompts() => new()
    {
        { "no prompts", Array.Empty<long[]>(), new[] { "prompts", "at least one prompt" } },
        { "empty prompt", new[] { new long[] { 1 }, Array.Empty<long>() }, new[] { "prompts[1]", "at least one token", "empty" } },
        { "null prompt", new[] { null! , new long[] { 1 } }, new[] { "prompts[0]", "null" } },
        { "too long", new[] { new long[65] }, new[] { "prompts[0]", "65 tokens", "MaxSequenceLength (64)" } },
        { "token = vocab", new[] { new long[] { 1, 16 } }, new[] { "prompts[0][1]", "[0, 16)", "16" } },
        { "negative token", new[] { new long[] { -4 } }, new[] { "prompts[0][0]", "-4" } },
    };

    [Theory]
    [MemberData(nameof(BadPrompts))]
    public void BadPromptsAreRejected(string what, long[][] prompts, string[] fragments)
    {
        var errors = new[]
        {
            Assert.ThrowsAny<ArgumentException>(() => Model.Generate(prompts)),
            Assert.ThrowsAny<ArgumentException>(() => Model.GenerateStream(prompts)),
            Assert.ThrowsAny<ArgumentException>(() => Model.GenerateStreamAsync(prompts)),
        };
        foreach (var error in errors)
            foreach (var fragment in fragments)
                Assert.True(error.Message.Contains(fragment), $"{what}: '{error.Message}' lacks '{fragment}'");
    }

    [Fact]
    public void BadTensorPromptsAreRejected()
    {
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 1, 2, 3, 4, 5, 6 }).view(2, 3);
        void Rejects(Tensor t, Tensor? mask, params string[] fragments)
        {
            var error = Assert.ThrowsAny<ArgumentException>(() => Model.Generate(t, mask));
            foreach (var fragment in fragments)
                Assert.True(error.Message.Contains(fragment), $"'{error.Message}' lacks '{fragment}'");
        }
        Rejects(tokens.view(6), null, "tokens", "[batch, time]", "[6]");
        Rejects(tokens.to(ScalarType.Float32), null, "integer", "Float32");
        Rejects(tokens, tensor(new long[] { 1, 1, 0, 1, 1, 1 }).view(2, 3), "left padding", "row 0", "position 2");
        Rejects(tokens, tensor(new long[] { 0, 0, 0, 1, 1, 1 }).view(2, 3), "row 0", "no real token");
        Rejects(tokens, ones(2, 2), "paddingMask", "[2, 3]", "[2, 2]");
        Rejects(tensor(new long[] { 1, 2, 3, 4, 99, 6 }).view(2, 3), null, "tokens[1][1]", "[0, 16)", "99");
        var leftPadded = tensor(new long[] { 0, 1, 1, 1, 1, 1 }).view(2, 3);
        Rejects(tensor(new long[] { -1, 2, 30, 4, 5, 6 }).view(2, 3), leftPadded, "tokens[0][2]", "30");
        // What padding positions hold does not matter.
        Assert.Single(Model.Generate(tensor(new long[] { -1, 2, 3, 4, 5, 6 }).view(2, 3), leftPadded, new() { MaxNewTokens = 1 })[0].Tokens);
    }

    [Fact]
    public void ForwardAndGenerateAcceptTheSameTokenDtypes()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }).view(2, 3);
        int accepted = 0, rejected = 0;
        foreach (var dtype in Enum.GetValues<ScalarType>().Distinct())
        {
            Tensor tokens;
            try { tokens = ids.to(dtype); }
            catch (Exception) { continue; } // a dtype LibTorch does not convert to on the CPU
            bool byForward = RejectsDtype(() => Model.forward(tokens));
            bool byGenerate = RejectsDtype(() => Model.Generate(tokens, null, new() { MaxNewTokens = 1 }));
            Assert.True(byForward == byGenerate,
                $"{dtype}: Forward {(byForward ? "rejects" : "accepts")} it but Generate {(byGenerate ? "rejects" : "accepts")} it");
            if (byForward) rejected++; else accepted++;
        }
        Assert.Equal(5, accepted); // int64, int32, int16, int8, uint8
        Assert.True(rejected >= 5, $"only {rejected} dtypes rejected"); // float16/32/64, bfloat16, bool at least

        static bool RejectsDtype(Action call)
        {
            try { call(); return false; }
            catch (ArgumentException e) when (e.Message.Contains("integer token ids")) { return true; }
        }
    }

    [Fact]
    public void ACacheForAnotherModelIsRejected()
    {
        using var cache = new KvCache(numLayers: 3);
        var error = Assert.ThrowsAny<ArgumentException>(() => Model.Generate(Prompt, cache: cache));
        Assert.Contains("cache must have 2 layers", error.Message);
        Assert.Contains("got 3", error.Message);
    }

    [Fact]
    public void ProcessorsRejectBadArguments()
    {
        using var scope = NewDisposeScope();
        var scores = zeros(2, 5);
        Assert.Contains("topK", Assert.ThrowsAny<ArgumentException>(() => LogitsProcessing.ApplyTopK(scores, 0)).Message);
        Assert.Contains("topP", Assert.ThrowsAny<ArgumentException>(() => LogitsProcessing.ApplyTopP(scores, 1.01)).Message);
        Assert.Contains("temperature", Assert.ThrowsAny<ArgumentException>(() => LogitsProcessing.ApplyTemperature(scores, 0)).Message);
        Assert.Contains("[2, 5]", Assert.ThrowsAny<ArgumentException>(() => LogitsProcessing.ApplyRepetitionPenalty(scores, zeros(2, 4, dtype: ScalarType.Bool), 1.5)).Message);
        Assert.Contains("[5]", Assert.ThrowsAny<ArgumentException>(() => LogitsProcessing.ApplyTopK(zeros(5), 1)).Message);
    }
}
