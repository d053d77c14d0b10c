namespace ModelForge.Model.Tests;

public sealed class BatchDimTests
{
    private static List<InputSpec> Inputs(params string[] texts) => texts.Select(InputSpec.Parse).ToList();

    [Theory]
    [InlineData("batch", "x:float32[batch,3,224,224]")]
    [InlineData("n", "x:float32[n,3]", "mask:bool[n,3]")]
    [InlineData("n", "x:float32[n,3]", "y:float32[m,3]")] // a later input's dim 0 is not a second batch dim
    [InlineData("seq", "mask:bool[seq,batch]", "x:float32[batch,seq]")] // the first input decides, whatever the names
    [InlineData(null, "scale:float32[1]", "x:float32[batch,3]")] // a static first input: no batch dim
    [InlineData(null, "ids:int64[4,seq]")] // a symbolic dim elsewhere is not the batch dim
    [InlineData(null, "s:float32[]")]
    [InlineData(null, new string[] { })]
    public void The_batch_dim_is_dim_0_of_the_first_input_when_it_is_symbolic(string? expected, params string[] inputs)
    {
        Assert.Equal(expected, BatchDim.Of(Inputs(inputs)));
    }
}
