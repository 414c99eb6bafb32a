namespace DiffTransformer;

/// <summary>Stateless pseudo-random numbers from counters (SplitMix64 finaliser), so a batch depends only on its index.</summary>
internal static class CounterRandom
{
    public static ulong Hash(ulong seed, ulong index, ulong row) => Mix(Mix(Mix(seed) ^ index) ^ row);

    /// <summary>A value in <c>[0, bound)</c> from 64 random bits (multiply-shift; bias below <c>bound / 2^64</c>).</summary>
    public static ulong Below(ulong bits, ulong bound) => (ulong)(((UInt128)bits * bound) >> 64);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
