// Builds the demo page into dist/. The widget itself (wasm + glue + loader) is built by
// scripts/build-widget.sh into dist/widget/ (glue and loader minified), as a customer would host it.
const path = require('path');
const HtmlWebpackPlugin = require('html-webpack-plugin');

module.exports = {
  mode: 'production',
  entry: {
    demo: './www/demo/demo.js',
    // The agent console: dist/agent/index.html + dist/agent/agent.js.
    'agent/agent': './www/agent/agent.js',
  },
  output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', clean: false },
  plugins: [
    new HtmlWebpackPlugin({ template: './www/demo/index.html', filename: 'index.html', chunks: ['demo'], inject: 'body' }),
    new HtmlWebpackPlugin({ template: './www/agent/index.html', filename: 'agent/index.html', chunks: ['agent/agent'], inject: 'body', publicPath: '/' }),
  ],
  performance: { hints: false },
};
