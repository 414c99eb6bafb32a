using System.Reflection;

namespace DiffTransformer.Samples.Tests;

/// <summary>Runs a sample's Main in this process and returns its exit code and what it wrote to the console.</summary>
internal static class EntryPoint
{
    private static readonly object ConsoleLock = new();

    public static (int ExitCode, string Output, string Error) Run(Assembly sample, params string[] args)
    {
        lock (ConsoleLock)
        {
            var (output, error) = (Console.Out, Console.Error);
            using var outWriter = new StringWriter();
            using var errorWriter = new StringWriter();
            Console.SetOut(outWriter);
            Console.SetError(errorWriter);
            try
            {
                var result = sample.EntryPoint!.Invoke(null, new object[] { args });
                return ((int)result!, outWriter.ToString(), errorWriter.ToString());
            }
            finally
            {
                Console.SetOut(output);
                Console.SetError(error);
            }
        }
    }
}
