using DiffTransformer.Checkpoints;

using System.Text;
using static TorchSharp.torch;

namespace DiffTransformer.Fuzz;

/// <summary>The valid seeds of each target, written with the library itself (fuzz/corpus holds them and some broken variants).</summary>
internal static class SeedCorpus
{
    public static void Write(string output)
    {
        using var workspace = new FuzzWorkspace();
        var (trainer, checkpoint) = workspace.TrainingCheckpoint();
        Copy(checkpoint, ModelCheckpoint.WeightsFileName, output, "safetensors", "tiny-model.safetensors");
        Copy(checkpoint, ModelCheckpoint.ConfigFileName, output, "config", "tiny-config.json");
        Copy(checkpoint, ModelCheckpoint.TrainerStateFileName, output, "trainer-state", "trainer_state.json");
        Copy(checkpoint, ModelCheckpoint.OptimizerFileName, output, "optimizer", "optimizer.safetensors");

        string scratch = workspace.File("safetensors", "scratch.safetensors");
        using (var a = arange(6, ScalarType.Int64).reshape(2, 3))
        using (var b = ones(new long[] { 0, 4 }, ScalarType.BFloat16))
        using (var c = tensor(new[] { true, false }))
            Safetensors.Save(scratch, new Dictionary<string, Tensor> { ["a"] = a, ["empty"] = b, ["flags"] = c }, new Dictionary<string, string> { ["format"] = "pt" });
        Put(output, "safetensors", "mixed-dtypes.safetensors", File.ReadAllBytes(scratch));

        const string index = """{"metadata": {"total_size": 40}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", "model.embed_tokens.weight": "model-00001-of-00002.safetensors", "model.norm.weight": "model-00002-of-00002.safetensors"}}""";
        Put(output, "hf-index", "index.json", Encoding.UTF8.GetBytes(index));
        Put(output, "hf-index", "index-and-shard.bin", [.. Encoding.UTF8.GetBytes(index), 0, .. FuzzWorkspace.FirstShardBytes()]);

        Put(output, "tokenizer-json", "byte-level-bpe.json", Encoding.UTF8.GetBytes(FuzzWorkspace.ByteLevelTokenizerJson()));
        const string tokenizerConfig = """{"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": {"content": "</s>"}, "added_tokens_decoder": {"258": {"content": "<s>"}, "259": {"content": "</s>"}}}""";
        Put(output, "tokenizer-config", "tokenizer_config.json", Encoding.UTF8.GetBytes(tokenizerConfig));
        Put(output, "tokenizer-config", "with-config.bin", [.. Encoding.UTF8.GetBytes(tokenizerConfig), 0, .. """{"bos_token_id": 258, "eos_token_id": [259, 10]}"""u8]);
    }

    private static void Copy(string directory, string name, string output, string target, string file) =>
        Put(output, target, file, File.ReadAllBytes(Path.Combine(directory, name)));

    private static void Put(string output, string target, string file, byte[] bytes)
    {
        string folder = Directory.CreateDirectory(Path.Combine(output, target)).FullName;
        File.WriteAllBytes(Path.Combine(folder, file), bytes);
        Console.WriteLine($"{target}/{file}: {bytes.Length} bytes");
    }
}
