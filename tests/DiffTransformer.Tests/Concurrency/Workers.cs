using System.Collections.Concurrent;
using TorchSharp;

namespace DiffTransformer.Tests;

/// <summary>
/// Dedicated threads that start together and meet at barriers, so that overlap comes from synchronisation, never from
/// sleeps. Each thread counts its own live tensors (TorchSharp counts per thread) before and after its work.
/// </summary>
internal static class Workers
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Runs <paramref name="body"/>(thread index, barrier of all threads) on <paramref name="count"/> threads and waits
    /// for them; returns each thread's change in live tensors. A thread that throws leaves the barrier (so the others go
    /// on) and its exception is rethrown here.
    /// </summary>
    public static long[] Run(int count, Action<int, Barrier> body)
    {
        using var barrier = new Barrier(count);
        var failures = new ConcurrentQueue<Exception>();
        var leaked = new long[count];
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            try
            {
                body(i, barrier);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
                barrier.RemoveParticipant();
            }
            leaked[i] = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        }) { IsBackground = true, Name = $"worker {i}" }).ToList();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) Assert.True(thread.Join(Patience), $"{thread.Name} did not finish within {Patience}.");
        if (!failures.IsEmpty) throw new AggregateException(failures);
        return leaked;
    }

    /// <summary>Waits for every thread at <paramref name="barrier"/>; throws rather than hang.</summary>
    public static void Meet(Barrier barrier)
    {
        if (!barrier.SignalAndWait(Patience)) throw new TimeoutException($"The other threads did not reach the barrier within {Patience}.");
    }

    /// <summary>Waits for <paramref name="signal"/>; throws rather than hang.</summary>
    public static void Await(ManualResetEventSlim signal, string what)
    {
        if (!signal.Wait(Patience)) throw new TimeoutException($"{what} did not happen within {Patience}.");
    }

    /// <summary>Starts <paramref name="body"/> on a dedicated thread; <see cref="Join"/> rethrows what it threw.</summary>
    public static (Thread Thread, Func<Exception?> Failure) Start(Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        thread.Start();
        return (thread, () => failure);
    }

    public static void Join((Thread Thread, Func<Exception?> Failure) worker)
    {
        Assert.True(worker.Thread.Join(Patience), $"The worker did not finish within {Patience}.");
        if (worker.Failure() is { } e) throw new AggregateException(e);
    }

    /// <summary>Live tensors of the whole process once the finalizers have run (for work that hops thread-pool threads).</summary>
    public static long LiveTensorsEverywhere()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return torch.Tensor.TotalCount;
    }
}
