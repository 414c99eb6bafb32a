#nullable enable
// MSBuild inline task (compiled by RoslynCodeTaskFactory): makes TorchSharp's native bridge load on systems whose
// libstdc++ predates GLIBCXX_3.4.32. See DiffTransformer.NativeCompat.targets for the why; this file is the how.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class DiffTransformerPatchLibTorchSharp : Task
{
    const string MissingVersion = "GLIBCXX_3.4.32";
    const string NeedySymbol = "_ZSt21ios_base_library_initv";
    const string HarmlessSymbol = "getpid";
    const ushort VerFlagWeak = 0x2;
    const uint ShtDynSym = 11, ShtGnuVerNeed = 0x6ffffffe, ShtGnuVerSym = 0x6fffffff;

    static readonly string[] LibStdCxxCandidates =
    {
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/libstdc++.so.6",
    };

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string? libStdCxx = Array.Find(LibStdCxxCandidates, File.Exists);
        if (libStdCxx == null)
        {
            Log.LogMessage(MessageImportance.Low, "DiffTransformer: no system libstdc++ found; libLibTorchSharp.so left as is.");
            return true;
        }
        if (Contains(File.ReadAllBytes(libStdCxx), Encoding.ASCII.GetBytes(MissingVersion + "\0")))
        {
            Log.LogMessage(MessageImportance.Low, $"DiffTransformer: {libStdCxx} provides {MissingVersion}; no patch needed.");
            return true;
        }
        foreach (ITaskItem item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                PatchFile(path);
            }
            catch (Exception e)
            {
                Log.LogWarning($"DiffTransformer: could not make {path} loadable without {MissingVersion}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    void PatchFile(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        string outcome = Patch(elf);
        if (outcome != "patched")
        {
            Log.LogMessage(MessageImportance.Low, $"DiffTransformer: {path}: {outcome}.");
            return;
        }
        // Write beside, then rename over: never a half-written library, and a hard link into the NuGet cache
        // is replaced rather than written through.
        DateTime stamp = File.GetLastWriteTimeUtc(path);
        string temp = path + ".patching";
        File.Copy(path, temp, true); // keeps the file mode
        File.WriteAllBytes(temp, elf);
        File.SetLastWriteTimeUtc(temp, stamp);
        File.Delete(path);
        File.Move(temp, path);
        Log.LogMessage(MessageImportance.Normal,
            $"DiffTransformer: patched {path} to load without {MissingVersion} (system libstdc++ is older).");
    }

    /// <summary>Patches the ELF image in place; returns "patched" or why nothing was changed.</summary>
    static string Patch(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            return "not an ELF file";
        if (elf[4] != 2 || elf[5] != 1) return "not a little-endian 64-bit ELF file";

        long shOff = (long)U64(elf, 0x28);
        int shEntSize = U16(elf, 0x3A), shNum = U16(elf, 0x3C);
        int dynSym = -1, verNeed = -1, verSym = -1;
        for (int i = 0; i < shNum; i++)
        {
            uint type = U32(elf, shOff + (long)i * shEntSize + 4);
            if (type == ShtDynSym) dynSym = i;
            else if (type == ShtGnuVerNeed) verNeed = i;
            else if (type == ShtGnuVerSym) verSym = i;
        }
        if (dynSym < 0 || verNeed < 0 || verSym < 0) return "no symbol versioning sections";

        long Section(int index, int field) => (long)U64(elf, shOff + (long)index * shEntSize + field);
        long dynStrOff = Section((int)U32(elf, shOff + (long)dynSym * shEntSize + 40), 24);

        // Find the vernaux entry for the missing version in .gnu.version_r.
        long need = Section(verNeed, 24);
        int versionIndex = -1;
        long auxEntry = -1;
        for (int n = 0; n < 64 && versionIndex < 0; n++)
        {
            int count = U16(elf, need + 2);
            long aux = need + U32(elf, need + 8);
            for (int a = 0; a < count; a++)
            {
                if (ReadString(elf, dynStrOff + U32(elf, aux + 8)) == MissingVersion)
                {
                    versionIndex = U16(elf, aux + 6) & 0x7fff;
                    auxEntry = aux;
                    break;
                }
                aux += U32(elf, aux + 12);
            }
            uint next = U32(elf, need + 12);
            if (next == 0) break;
            need += next;
        }
        if (versionIndex < 0) return $"does not require {MissingVersion}";
        if ((U16(elf, auxEntry + 4) & VerFlagWeak) != 0) return "already patched";

        // Every symbol bound to that version must be the one we can replace; otherwise leave the file alone.
        long symOff = Section(dynSym, 24), symSize = Section(dynSym, 32), symEnt = Section(dynSym, 56);
        long verSymOff = Section(verSym, 24);
        long target = -1;
        for (long s = 0; s < symSize / symEnt; s++)
        {
            if ((U16(elf, verSymOff + 2 * s) & 0x7fff) != versionIndex) continue;
            string name = ReadString(elf, dynStrOff + U32(elf, symOff + s * symEnt));
            if (name != NeedySymbol || U16(elf, symOff + s * symEnt + 6) != 0)
                return $"symbol {name} also needs {MissingVersion}; not patched";
            target = s;
        }
        if (target < 0) return $"no symbol uses {MissingVersion}";

        W16(elf, auxEntry + 4, (ushort)(U16(elf, auxEntry + 4) | VerFlagWeak));
        W16(elf, verSymOff + 2 * target, 1); // global, unversioned
        long nameOff = dynStrOff + U32(elf, symOff + target * symEnt);
        byte[] replacement = Encoding.ASCII.GetBytes(HarmlessSymbol);
        Array.Clear(elf, (int)nameOff, NeedySymbol.Length);
        Array.Copy(replacement, 0, elf, nameOff, replacement.Length);
        return "patched";
    }

    static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    static string ReadString(byte[] b, long offset)
    {
        long end = offset;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)offset, (int)(end - offset));
    }

    static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
    static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
    static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    static void W16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
}
