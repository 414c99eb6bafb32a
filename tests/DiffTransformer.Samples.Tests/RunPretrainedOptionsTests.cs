using RunPretrained;
using TorchSharp;

namespace DiffTransformer.Samples.Tests;

/// <summary>RunPretrained's command line, and the directories it refuses: exit code 2, naming the option or the file.</summary>
public class RunPretrainedOptionsTests
{
    private static readonly System.Reflection.Assembly Sample = typeof(PretrainedRun).Assembly;

    [Fact]
    public void OptionsParseAndHelpExplainsEach()
    {
        using var directory = new TempDirectory();
        var parsed = OptionsParser.Parse(new[] { "--model", directory.Path, "--prompt", "hi", "--max-new-tokens", "7", "--device", "CPU", "--dtype", "float16", "--temperature", "0.5", "--seed", "-3" });
        Assert.Equal(new RunOptions { ModelDirectory = directory.Path, Prompt = "hi", MaxNewTokens = 7, Device = "cpu", DType = "float16", Temperature = 0.5, Seed = -3 }, parsed.Options);
        Assert.Equal(new RunOptions { ModelDirectory = directory.Path, Prompt = "hi" }, OptionsParser.Parse(new[] { "--model", directory.Path, "--prompt", "hi" }).Options);

        var (code, output, _) = EntryPoint.Run(Sample, "--help");
        Assert.Equal(0, code);
        Assert.Contains("dotnet run --project samples/RunPretrained -c Release -- [options]", output);
        foreach (var option in new[] { "--model <DIR> (REQUIRED)", "--prompt <TEXT> (REQUIRED)", "--max-new-tokens <N>", "--device <cpu|cuda>", "--dtype <bfloat16|float16|float32>", "--temperature <T>", "--seed <N>" })
            Assert.Contains(option, output);
        Assert.Contains("[default: 64]", output);
    }

    [Theory]
    [InlineData("--prompt x", "Option '--model' is required")]
    [InlineData("--model .", "Option '--prompt' is required")]
    [InlineData("--model /no/such/dir --prompt x", "--model: Directory does not exist: '/no/such/dir'")]
    [InlineData("--model . --prompt x --max-new-tokens 0", "--max-new-tokens must be a whole number >= 1; got '0'")]
    [InlineData("--model . --prompt x --temperature -1", "--temperature must be a number >= 0; got '-1'")]
    [InlineData("--model . --prompt x --temperature hot", "--temperature must be a number >= 0; got 'hot'")]
    [InlineData("--model . --prompt x --seed 1.5", "--seed must be a whole number; got '1.5'")]
    [InlineData("--model . --prompt x --device tpu", "--device: Argument 'tpu' not recognized. Must be one of: 'cpu' 'cuda'")]
    [InlineData("--model . --prompt x --dtype int8", "--dtype: Argument 'int8' not recognized. Must be one of: 'float32' 'bfloat16' 'float16'")]
    public void BadOptionsExitWithTwoAndAreExplained(string commandLine, string message)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var parsed = OptionsParser.Parse(args);
        Assert.Null(parsed.Options);
        Assert.Contains(message, parsed.Error);
        Assert.Contains("--help", parsed.Error);
        var (code, output, error) = EntryPoint.Run(Sample, args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public void AnEmptyPromptAndCudaWithoutCudaAreRejected()
    {
        Assert.Contains("--prompt must not be empty.", OptionsParser.Parse(new[] { "--model", ".", "--prompt", "" }).Error);
        if (torch.cuda.is_available()) return;
        var (code, output, error) = EntryPoint.Run(Sample, "--model", ".", "--prompt", "x", "--device", "cuda");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("--device cuda: CUDA is not available.", error);
    }

    [Fact]
    public void ADirectoryWithoutTokenizerNamesTheFilesItNeeds()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "llama_mha");
        var (code, _, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("must hold tokenizer.json (byte-level BPE) or tokenizer.model (SentencePiece); it has neither.", error);
    }

    [Fact]
    public void ADirectoryWithoutConfigIsNotAModelDirectory()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "diffllama_mha");
        File.Delete(Path.Combine(model, "config.json"));
        var (code, _, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("holds no config.json; it is not a Hugging Face model directory.", error);

        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", "diffllama_mha", "config.json"), Path.Combine(model, "config.json"));
        File.Delete(Path.Combine(model, "model.safetensors"));
        (code, _, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("model.safetensors", error);
    }

    /// <summary>
    /// The golden Llama directories have vocabularies of 96 to 128, the only golden tokenizer 400 tokens: a Llama run
    /// with the DiffLlama tokenizer copied in is refused as a mismatch (ids up to 399 would not be tokens of the model).
    /// </summary>
    [Fact]
    public void ATokenizerLargerThanTheModelsVocabularyIsRefused()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "llama_mha");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", "diffllama_mha", "tokenizer.model"), Path.Combine(model, "tokenizer.model"));
        var (code, output, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("Model: Llama (softmax attention), 2 layers, hidden 32, vocabulary 96", output);
        Assert.Contains("has 400 tokens but the model's vocabulary (config.json vocab_size) is 96", error);
    }

    [Fact]
    public void APromptLongerThanTheContextNamesMaxNewTokens()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "diffllama_mha");
        var (code, _, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", "hi", "--max-new-tokens", "300");
        Assert.Equal(2, code);
        Assert.Contains("with --max-new-tokens 300 that is more than the model's 256 positions (config.json max_position_embeddings)", error);
    }
}
