"""What Berth knows of WSO2's products: the container facts it renders for each."""
