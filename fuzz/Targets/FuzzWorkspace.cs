using DiffTransformer.Checkpoints;

using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DiffTransformer.Fuzz;

/// <summary>
/// The temporary folder of one fuzzing process (or one replay test): a directory per target, and the fixed valid files
/// some targets read beside the fuzzed one (a tiny model's training checkpoint, the second shard of a sharded model, a
/// byte-level BPE tokenizer.json), made once with the library itself. Deleted on dispose.
/// </summary>
internal sealed class FuzzWorkspace : IDisposable
{
    /// <summary>The shard the hf-index target may replace with the input's second part.</summary>
    public const string FirstShard = "model-00001-of-00002.safetensors";

    /// <summary>The shard the hf-index target keeps.</summary>
    public const string SecondShard = "model-00002-of-00002.safetensors";

    private readonly string root = System.IO.Directory.CreateTempSubdirectory("difftransformer-fuzz-").FullName;
    private (Trainer Trainer, string Directory)? training;
    private bool sharded, tokenizer;

    /// <summary>The directory of <paramref name="target"/> (created); every file its reader reads lies there.</summary>
    public string Directory(string target) => System.IO.Directory.CreateDirectory(Path.Combine(root, target)).FullName;

    /// <summary>Makes <paramref name="target"/>'s fixed files (before its first input is measured); returns its directory.</summary>
    public string Prepare(string target)
    {
        _ = target switch
        {
            "optimizer" => TrainingCheckpoint().Directory,
            "hf-index" => ShardedDirectory(),
            "tokenizer-config" => TokenizerDirectory(),
            _ => "",
        };
        return Directory(target);
    }

    /// <summary>The path <paramref name="name"/> in <paramref name="target"/>'s directory.</summary>
    public string File(string target, string name) => Path.Combine(Directory(target), name);

    /// <summary>The tiny model of the training checkpoint (also what the seed corpus is made from).</summary>
    public static DiffTransformerConfig TinyConfig { get; } = new()
    {
        Attention = AttentionKind.Differential, VocabSize = 16, EmbedDim = 8, NumLayers = 1, NumHeads = 2, MaxSequenceLength = 8,
    };

    /// <summary>A trainer of the tiny model after one step, and its checkpoint in the optimizer target's directory.</summary>
    public (Trainer Trainer, string Directory) TrainingCheckpoint()
    {
        if (training is { } made) return made;
        manual_seed(1);
        var model = new DiffTransformerLM(TinyConfig);
        var data = new TokenBatches(Enumerable.Range(0, 200).Select(i => i * 7 % TinyConfig.VocabSize).ToArray(), batchSize: 2, time: 8, seed: 1);
        var trainer = new Trainer(model, data, new TrainingOptions { Steps = 2, WarmupSteps = 1 });
        trainer.Step();
        string directory = Directory("optimizer");
        trainer.SaveCheckpoint(directory); // replaces the (empty) directory atomically
        training = (trainer, directory);
        return (trainer, directory);
    }

    /// <summary>The hf-index target's directory, holding <see cref="SecondShard"/>.</summary>
    public string ShardedDirectory()
    {
        string directory = Directory("hf-index");
        if (!sharded)
        {
            using var norm = ones(2);
            using var head = ones(2, 2);
            Safetensors.Save(Path.Combine(directory, SecondShard), new Dictionary<string, Tensor> { ["model.norm.weight"] = norm, ["lm_head.weight"] = head });
            sharded = true;
        }
        return directory;
    }

    /// <summary>A valid <see cref="FirstShard"/>: <c>model.embed_tokens.weight</c>, float32 [2, 2].</summary>
    public static byte[] FirstShardBytes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"difftransformer-fuzz-shard-{Environment.ProcessId}.safetensors");
        using (var embed = tensor(new float[] { 0, 1, 2, 3 }).reshape(2, 2))
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = embed });
        byte[] bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.Delete(path);
        return bytes;
    }

    /// <summary>The tokenizer-config target's directory, holding <see cref="ByteLevelTokenizerJson"/> as tokenizer.json.</summary>
    public string TokenizerDirectory()
    {
        string directory = Directory("tokenizer-config");
        if (!tokenizer)
        {
            System.IO.File.WriteAllText(Path.Combine(directory, HuggingFaceTokenizer.TokenizerJsonFile), ByteLevelTokenizerJson());
            tokenizer = true;
        }
        return directory;
    }

    /// <summary>
    /// A byte-level BPE tokenizer.json: the 256 byte tokens (GPT-2's byte-to-character map), the merges "Ġ t" (256) and
    /// "h e" (257), and the added tokens &lt;s&gt; (258) and &lt;/s&gt; (259).
    /// </summary>
    public static string ByteLevelTokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteChar(b).ToString()] = b;
        vocab["Ġt"] = 256;
        vocab["he"] = 257;
        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(258, "<s>"), Added(259, "</s>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray("Ġ t", "h e"),
            },
        }.ToJsonString();
    }

    /// <summary>GPT-2's bytes_to_unicode.</summary>
    private static char ByteChar(int b)
    {
        int next = 256;
        for (int i = 0; i < 256; i++)
        {
            bool printable = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            if (i == b) return printable ? (char)i : (char)next;
            if (!printable) next++;
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (training is { } made)
        {
            made.Trainer.Dispose();
            made.Trainer.Model.Dispose();
        }
        try { System.IO.Directory.Delete(root, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
    }
}
