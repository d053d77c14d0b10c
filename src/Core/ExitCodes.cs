namespace ModelForge.Core;

/// <summary>Process exit codes shared by every ModelForge command (CI and the MSBuild task read them).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int AccuracyGateFailed = 1;
    public const int InvalidInput = 2;
    /// <summary>EX_SOFTWARE from sysexits.h: a bug in ModelForge, not in the user's input.</summary>
    public const int InternalError = 70;
}
