namespace DiffTransformer.Tests;

/// <summary>The one assertion of the argument-rule tests: an exception naming the argument, with the rule and the value in its message.</summary>
internal static class Rejection
{
    /// <summary>Asserts that <paramref name="call"/> throws an <see cref="ArgumentException"/> (or a subclass) for <paramref name="parameter"/> whose message holds every fragment.</summary>
    public static ArgumentException Rejects(Action call, string parameter, params string[] fragments) =>
        Rejects<ArgumentException>(call, parameter, exactType: false, fragments);

    /// <summary>As <see cref="Rejects(Action, string, string[])"/>, for exactly <typeparamref name="TException"/>.</summary>
    public static TException Rejects<TException>(Action call, string parameter, params string[] fragments) where TException : ArgumentException =>
        Rejects<TException>(call, parameter, exactType: true, fragments);

    private static TException Rejects<TException>(Action call, string parameter, bool exactType, string[] fragments) where TException : ArgumentException
    {
        var error = exactType ? Assert.Throws<TException>(call) : Assert.ThrowsAny<TException>(call);
        Assert.Equal(parameter, error.ParamName);
        foreach (var fragment in fragments) Assert.Contains(fragment, error.Message);
        return error;
    }
}
