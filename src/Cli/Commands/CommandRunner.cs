using ModelForge.Core;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Cli.Commands;

/// <summary>
/// Runs a command body and maps its outcome to an exit code: user errors print their diagnostics (no stack
/// trace) and exit 2; anything else is a ModelForge bug and exits 70 with the details needed to report it.
/// </summary>
internal static class CommandRunner
{
    public static int Run(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ModelForgeException e)
        {
            foreach (var diagnostic in e.Diagnostics) error.WriteLine(diagnostic.Format());
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error.WriteLine($"modelforge: internal error: {e.GetType().Name}: {e.Message}");
            error.WriteLine("    this is a bug in ModelForge; please report it with the command line and the model. Details:");
            error.WriteLine(e.ToString());
            return ExitCodes.InternalError;
        }
    }
}
