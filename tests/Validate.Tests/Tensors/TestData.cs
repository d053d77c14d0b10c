using System.Runtime.CompilerServices;

namespace ModelForge.Validate.Tests.Tensors;

/// <summary>The .npy/.npz files written by real NumPy (TestData/make_test_data.py), found next to this source file.</summary>
internal static class TestData
{
    public static string Path(string name, [CallerFilePath] string thisFile = "") =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(thisFile)!, "TestData", name);
}
