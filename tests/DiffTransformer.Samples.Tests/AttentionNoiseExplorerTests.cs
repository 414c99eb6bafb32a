using AttentionNoiseExplorer;
using DiffTransformer;
using static TorchSharp.torch;

namespace DiffTransformer.Samples.Tests;

public class AttentionNoiseExplorerTests
{
    [Theory]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    [InlineData(AttentionKind.Softmax)]
    public void DrawsEveryHeadOfACheckpoint(AttentionKind kind)
    {
        using var directory = new TempDirectory();
        string checkpoint = directory.File("ckpt");
        manual_seed(1);
        using (var model = new DiffTransformerLM(new DiffTransformerConfig { Attention = kind, VocabSize = 256, EmbedDim = 16, NumLayers = 2, NumHeads = 2, MaxSequenceLength = 32 }))
            ModelCheckpoint.Save(model, checkpoint, new Dictionary<string, string> { ["tokenizer"] = "bytes" });

        var result = Explorer.Run(new ExplorerOptions { CheckpointDirectory = checkpoint, Prompt = "a b\nc", OutputDirectory = directory.File("out") });
        Assert.Equal(kind, result.Kind);
        Assert.Equal(new[] { "a", "_", "b", "\\n", "c" }, result.TokenLabels);
        Assert.Equal(2, result.Layers.Count);
        Assert.Equal(2, result.Pictures.Count);
        foreach (var picture in result.Pictures) Png.AssertValid(picture);
        foreach (var head in result.Layers.SelectMany(l => l.Heads))
        {
            Assert.Equal(5, head.Effective.GetLength(0));
            if (kind == AttentionKind.Softmax)
            {
                Assert.Null(head.First);
                Assert.Empty(head.Lambda);
                continue;
            }
            // The drawn differential map is A1 - lambda * A2 (V1: one lambda per layer; V2: one per query token).
            Assert.Equal(kind == AttentionKind.Differential ? 1 : 5, head.Lambda.Count);
            for (int q = 0; q < 5; q++)
                for (int k = 0; k < 5; k++)
                {
                    double lambda = head.Lambda[head.Lambda.Count == 1 ? 0 : q];
                    Assert.Equal(head.First![q, k] - lambda * head.Second![q, k], head.Effective[q, k], 1e-6); // float32 maps
                }
        }
        var lines = Summary.Lines(result).ToList();
        Assert.Equal(4, lines.Count);

        var one = Explorer.Run(new ExplorerOptions { CheckpointDirectory = checkpoint, Prompt = "abc", Layer = 1, OutputDirectory = directory.File("one") });
        Assert.Equal(1, Assert.Single(one.Layers).Layer);
    }

    [Fact]
    public void OptionsParseAndHelpExplainsEach()
    {
        using var directory = new TempDirectory();
        var parsed = OptionsParser.Parse(new[] { "--checkpoint", directory.Path, "--prompt", "hi", "--tokenizer", "Byte", "--layer", "1", "--out", "maps" });
        Assert.Equal(new ExplorerOptions { CheckpointDirectory = directory.Path, Prompt = "hi", Tokenizer = "byte", Layer = 1, OutputDirectory = "maps" }, parsed.Options);
        Assert.Equal(new ExplorerOptions { CheckpointDirectory = directory.Path }, OptionsParser.Parse(new[] { "--checkpoint", directory.Path }).Options);
        Assert.True(OptionsParser.Parse(new[] { "--help" }).ShowHelp);
        var (code, output, _) = EntryPoint.Run(typeof(Explorer).Assembly, "-?");
        Assert.Equal(0, code);
        Assert.Contains("--checkpoint <DIR> (REQUIRED)", output);
        foreach (var option in new[] { "--prompt <TEXT>", "--tokenizer <byte|cl100k>", "--layer <N>", "--out <DIR>" })
            Assert.Contains(option, output);
        Assert.Contains("(default: the checkpoint's \"tokenizer\" metadata)", output);
    }

    [Theory]
    [InlineData("", "Option '--checkpoint' is required")]
    [InlineData("--checkpoint /no/such/dir", "--checkpoint: Directory does not exist: '/no/such/dir'")]
    [InlineData("--checkpoint . --layer -1", "--layer must be a whole number >= 0; got '-1'")]
    [InlineData("--checkpoint . --tokenizer x", "--tokenizer: Argument 'x' not recognized. Must be one of: 'byte' 'cl100k'")]
    [InlineData("--checkpoint . --prompt", "Required argument missing for option: '--prompt'")]
    public void BadOptionsExitWithTwoAndAreExplained(string commandLine, string message)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var parsed = OptionsParser.Parse(args);
        Assert.Null(parsed.Options);
        Assert.Contains(message, parsed.Error);
        Assert.Contains("--help", parsed.Error);
        var (code, output, error) = EntryPoint.Run(typeof(Explorer).Assembly, args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public void AnEmptyPromptIsRejected()
    {
        var parsed = OptionsParser.Parse(new[] { "--checkpoint", ".", "--prompt", "" });
        Assert.Contains("--prompt must not be empty.", parsed.Error);
    }

    [Fact]
    public void BadOptionsAndInputsAreExplained()
    {
        var (code, _, error) = EntryPoint.Run(typeof(Explorer).Assembly, "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("Option '--checkpoint' is required", error);

        using var directory = new TempDirectory();
        string checkpoint = directory.File("ckpt");
        using (var model = new DiffTransformerLM(new DiffTransformerConfig { VocabSize = 256, EmbedDim = 16, NumLayers = 1, NumHeads = 2, MaxSequenceLength = 4 }))
            ModelCheckpoint.Save(model, checkpoint);
        var noTokenizer = Assert.Throws<ArgumentException>(() => Explorer.Run(new ExplorerOptions { CheckpointDirectory = checkpoint }));
        Assert.Contains("names no tokenizer", noTokenizer.Message);
        var tooLong = Assert.Throws<ArgumentException>(() => Explorer.Run(new ExplorerOptions { CheckpointDirectory = checkpoint, Tokenizer = "byte", Prompt = "hello" }));
        Assert.Contains("at most 4", tooLong.Message);
        var layer = Assert.Throws<ArgumentException>(() => Explorer.Run(new ExplorerOptions { CheckpointDirectory = checkpoint, Tokenizer = "byte", Prompt = "hi", Layer = 1 }));
        Assert.Contains("[0, 1)", layer.Message);
        (code, _, error) = EntryPoint.Run(typeof(Explorer).Assembly, "--checkpoint", checkpoint, "--tokenizer", "byte", "--prompt", "hi", "--layer", "3");
        Assert.Equal(2, code);
        Assert.Contains("--layer must lie in [0, 1)", error);
    }
}
