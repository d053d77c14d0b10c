namespace ModelForge.Model;

/// <summary>
/// Element types, numbered as ONNX's <c>TensorProto.DataType</c> so emission needs no table.
/// Torch's <c>ScalarType</c> numbering (used as plain ints in TorchScript code, e.g. <c>torch.to(x, 6)</c>)
/// maps through <see cref="DataTypes.FromTorchScalarType"/>.
/// </summary>
public enum DataType
{
    Undefined = 0,
    Float32 = 1,
    UInt8 = 2,
    Int8 = 3,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Float64 = 11,
    BFloat16 = 16,
}

public static class DataTypes
{
    public static int SizeInBytes(this DataType type) => type switch
    {
        DataType.Float32 or DataType.Int32 => 4,
        DataType.UInt8 or DataType.Int8 or DataType.Bool => 1,
        DataType.Int16 or DataType.Float16 or DataType.BFloat16 => 2,
        DataType.Int64 or DataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no fixed element size"),
    };

    public static bool IsFloatingPoint(this DataType type) =>
        type is DataType.Float32 or DataType.Float16 or DataType.Float64 or DataType.BFloat16;

    public static bool IsInteger(this DataType type) =>
        type is DataType.UInt8 or DataType.Int8 or DataType.Int16 or DataType.Int32 or DataType.Int64;

    /// <summary>c10::ScalarType numbers, as TorchScript code spells dtypes.</summary>
    public static DataType? FromTorchScalarType(long scalarType) => scalarType switch
    {
        0 => DataType.UInt8,
        1 => DataType.Int8,
        2 => DataType.Int16,
        3 => DataType.Int32,
        4 => DataType.Int64,
        5 => DataType.Float16,
        6 => DataType.Float32,
        7 => DataType.Float64,
        11 => DataType.Bool,
        15 => DataType.BFloat16,
        _ => null,
    };

    /// <summary>Storage class names in <c>data.pkl</c> (<c>torch.FloatStorage</c>, …).</summary>
    public static DataType? FromStorageName(string storageClass) => storageClass switch
    {
        "FloatStorage" => DataType.Float32,
        "DoubleStorage" => DataType.Float64,
        "HalfStorage" => DataType.Float16,
        "BFloat16Storage" => DataType.BFloat16,
        "LongStorage" => DataType.Int64,
        "IntStorage" => DataType.Int32,
        "ShortStorage" => DataType.Int16,
        "CharStorage" => DataType.Int8,
        "ByteStorage" => DataType.UInt8,
        "BoolStorage" => DataType.Bool,
        _ => null,
    };

    /// <summary>The names users write in <c>--input x:float32[...]</c>.</summary>
    public static DataType? FromName(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "float" or "fp32" => DataType.Float32,
        "float16" or "half" or "fp16" => DataType.Float16,
        "bfloat16" or "bf16" => DataType.BFloat16,
        "float64" or "double" or "fp64" => DataType.Float64,
        "int64" or "long" => DataType.Int64,
        "int32" or "int" => DataType.Int32,
        "int16" or "short" => DataType.Int16,
        "int8" => DataType.Int8,
        "uint8" => DataType.UInt8,
        "bool" => DataType.Bool,
        _ => null,
    };

    public static string Name(this DataType type) => type switch
    {
        DataType.Float32 => "float32",
        DataType.Float16 => "float16",
        DataType.BFloat16 => "bfloat16",
        DataType.Float64 => "float64",
        DataType.Int64 => "int64",
        DataType.Int32 => "int32",
        DataType.Int16 => "int16",
        DataType.Int8 => "int8",
        DataType.UInt8 => "uint8",
        DataType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };
}
