using System.Diagnostics;

namespace ModelForge.MSBuild.Tests;

/// <summary>Runs a program as a user would, with the test host's MSBuild variables removed.</summary>
internal static class ChildProcess
{
    /// <summary>Runs <paramref name="fileName"/> to its end; <paramref name="environment"/> adds or replaces variables.</summary>
    public static (int ExitCode, string Output) Run(string fileName, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // The test host may run under MSBuild-set variables that would point a child build at the wrong SDK pieces.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "MSBuildExtensionsPath" || k == "MSBuildSDKsPath").ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}

/// <summary>Runs the real <c>dotnet</c> CLI as a user would (see <see cref="ChildProcess"/>).</summary>
internal static class DotnetProcess
{
    public static (int ExitCode, string Output) Run(string workingDirectory, params string[] args) =>
        ChildProcess.Run("dotnet", workingDirectory, null, args);

    public static (int ExitCode, string Output) Run(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        ChildProcess.Run("dotnet", workingDirectory, environment, args);
}
